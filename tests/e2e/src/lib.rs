//! The whole platform on one machine, for the end-to-end suite: orchestrator, task-engine,
//! cloud-portal, soa-registry and cmdb each run as their own process from the workspace's
//! binaries, on fresh MariaDB databases, with soa-registry on a real ZooKeeper and an sshd on
//! loopback standing in for every host cloud-portal hands out (127.0.0.x all reach it).
//!
//! Each [`Platform`] has its own databases, ZooKeeper chroot, temp folder and ports (every
//! service binds port 0 and the harness reads the address it prints), so tests run side by
//! side and beside `make run`.

// Test support: a panic is how a broken fixture fails its test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::future::Future;

use client::{
    ClientConfig, CloudPortalClient, CmdbClient, Encoding, Method, OrchestratorClient, RawReply,
    SoaRegistryClient, TaskEngineClient,
};
use kit::testing::{sshd, zookeeper, TestBackend, TestDatabase};
use serde_json::{json, Map, Value};
use wire::task_engine as te;

pub const ZKIDC: &str = "e2e";
pub const SOA_KEY: &str = "e2e-soa-key";
pub const CMDB_KEY: &str = "e2e-cmdb-key";
pub const CMDB_SECRET: &str = "e2e-cmdb-secret";
pub const PORTAL_ADMIN: &str = "admin";
pub const PORTAL_PASSWORD: &str = "e2e-Portal-Password-1";
/// The `iss` of the platform's tokens: cloud-portal's embedded issuer.
pub const ISSUER: &str = "http://dcp-e2e-issuer";
/// The service identities' secrets (`[[issuer.clients]]` of cloud-portal, `[identity]` of each).
pub const TASK_ENGINE_SECRET: &str = "e2e-task-engine-client-secret";
pub const ORCHESTRATOR_SECRET: &str = "e2e-orchestrator-client-secret";

/// One running service process; killed when dropped.
pub struct Service {
    pub name: &'static str,
    pub url: String,
    child: Child,
    log: PathBuf,
    dir: PathBuf,
    config: String,
}

impl Service {
    /// SIGKILL, then the same binary and configuration again on the same address (peers keep
    /// their URL of it), as a crashed service restarted by its supervisor.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        let address = self.url.trim_start_matches("http://").to_string();
        let config = self.config.replacen(
            "bind = \"127.0.0.1:0\"",
            &format!("bind = \"{address}\""),
            1,
        );
        // The old child is reaped: dropping it signals nothing.
        *self = start_service(&self.dir, self.name, &config);
    }

    /// The service's log (stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where `cargo build --bins` put the service binaries: `DCP_E2E_BIN_DIR`, else the folder
/// above this test's own `deps/` folder (target/debug).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DCP_E2E_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the test binary lives in target/<profile>/deps")
}

/// Starts `name` with `config` (TOML) and waits until it prints where it listens.
pub fn start_service(dir: &Path, name: &'static str, config: &str) -> Service {
    let binary = bin_dir().join(name);
    assert!(
        binary.exists(),
        "{} is missing: build the services first with `cargo build --bins` (make test does)",
        binary.display()
    );
    let config_path = dir.join(format!("{name}.toml"));
    std::fs::write(&config_path, config).expect("write the service's config");
    let out_path = dir.join(format!("{name}.out"));
    let log_path = dir.join(format!("{name}.log"));
    let out = File::create(&out_path).expect("the service's stdout file");
    let log = File::create(&log_path).expect("the service's log file");
    let child = Command::new(&binary)
        .arg("--config")
        .arg(&config_path)
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let mut service = Service {
        name,
        url: String::new(),
        child,
        log: log_path,
        dir: dir.to_path_buf(),
        config: config.to_string(),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let printed = std::fs::read_to_string(&out_path).unwrap_or_default();
        if let Some(url) = printed
            .lines()
            .find_map(|line| line.split(" listening on ").nth(1))
        {
            service.url = url.trim().to_string();
            return service;
        }
        if let Ok(Some(status)) = service.child.try_wait() {
            panic!(
                "{name} exited ({status}) before listening; its log:\n{}",
                service.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{name} does not listen after 90 s; its log:\n{}",
            service.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The whole platform. Fields drop in order: the processes go before their databases.
pub struct Platform {
    pub orchestrator: Service,
    pub task_engine: Service,
    pub cloud_portal: Service,
    pub soa_registry: Service,
    pub cmdb: Service,
    /// `host:port/chroot` of the ZooKeeper soa-registry's zkidc [`ZKIDC`] lives in.
    pub zk_connect: String,
    /// The portal admin's access token: what the tests' clients send.
    pub token: String,
    pub dir: tempfile::TempDir,
    _databases: Vec<TestDatabase>,
}

/// `[auth]`: every service trusts cloud-portal's embedded issuer at `portal`.
fn auth(portal: &str) -> String {
    format!(
        "[auth]\nissuer = \"{ISSUER}\"\naudience = \"dcp\"\njwks_url = \"{portal}/oauth/jwks\"\n\
         revocation_url = \"{portal}/oauth/revoked\"\nrevocation_poll_secs = 1\n\n"
    )
}

/// `[identity]`: a service's own credentials at the issuer's token endpoint.
fn identity(portal: &str, id: &str, secret: &str) -> String {
    format!(
        "[identity]\ntoken_url = \"{portal}/oauth/token\"\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\n\n"
    )
}

/// An access token of the embedded issuer at `portal`, by the password grant (on a thread of
/// its own: `Platform::start` runs inside a runtime's blocking pool).
fn password_token(portal: &str, username: &str, password: &str) -> String {
    let (portal, username, password) = (
        portal.to_string(),
        username.to_string(),
        password.to_string(),
    );
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the token request");
        runtime.block_on(async move {
            client::credentials::password_grant(
                &format!("{portal}/oauth/token"),
                &username,
                &password,
            )
            .await
            .expect("the admin gets a token")
            .access_token
        })
    })
    .join()
    .expect("the token request")
}

fn database(prefix: &str) -> TestDatabase {
    TestDatabase::create(TestBackend::Mysql, prefix)
}

fn common(url: &str) -> String {
    format!(
        "[http]\nbind = \"127.0.0.1:0\"\nworkers = 2\nshutdown_timeout_secs = 2\n\n\
         [log]\nformat = \"json\"\nlevel = \"info\"\n\n\
         [database]\nurl = \"{url}\"\npool_size = 4\nconnect_timeout_secs = 5\ncreate_database = true\n\n"
    )
}

impl Platform {
    /// Starts every service but resource-pool (not part of the flow), in the order they
    /// depend on each other.
    pub fn start() -> Platform {
        let dir = tempfile::tempdir().expect("a temp folder for the platform");
        let zk = zookeeper::shared();
        let zk_connect = format!("127.0.0.1:{}{}", zk.port, zookeeper::unique_chroot("e2e"));
        let ssh = sshd::shared();

        // cloud-portal first: its embedded issuer is every other service's.
        let portal_db = database("e2e_portal");
        let cloud_portal = start_service(
            dir.path(),
            "cloud-portal",
            &format!(
                "{}[admin]\nusername = \"{PORTAL_ADMIN}\"\npassword = \"{PORTAL_PASSWORD}\"\n\n[demo]\nenabled = false\n\n\
                 [issuer]\nurl = \"{ISSUER}\"\naudience = \"dcp\"\nkey_file = \"{}\"\ntoken_ttl_secs = 900\n\n\
                 [[issuer.clients]]\nid = \"task-engine\"\nsecret = \"{TASK_ENGINE_SECRET}\"\n\n\
                 [[issuer.clients]]\nid = \"orchestrator\"\nsecret = \"{ORCHESTRATOR_SECRET}\"\n",
                common(&portal_db.config.url),
                dir.path().join("issuer.key").display()
            ),
        );
        let portal = cloud_portal.url.clone();

        let cmdb_db = database("e2e_cmdb");
        let cmdb = start_service(
            dir.path(),
            "cmdb",
            &format!(
                "{}{}[api_keys]\nadmin_user = \"admin\"\nadmin_key = \"{CMDB_KEY}\"\n\
                 admin_secret = \"{CMDB_SECRET}\"\ncredentials_file = \"{}\"\n",
                common(&cmdb_db.config.url),
                auth(&portal),
                dir.path().join("cmdb-admin.json").display()
            ),
        );

        let soa_registry = start_service(
            dir.path(),
            "soa-registry",
            &format!(
                "{}[http]\nbind = \"127.0.0.1:0\"\nworkers = 2\n\n\
                 [log]\nformat = \"json\"\nlevel = \"info\"\n\n\
                 [service_zkidcs]\n\"task-engine\" = [\"{ZKIDC}\"]\n\n\
                 [store]\ndata_dir = \"{}\"\n\n\
                 [zkidcs]\n{ZKIDC} = \"{zk_connect}\"\n\n\
                 [[keys]]\nkey = \"{SOA_KEY}\"\nowner = \"e2e\"\n",
                auth(&portal),
                dir.path().join("soa-data").display()
            ),
        );

        let engine_db = database("e2e_engine");
        // Strict host-key checking, as production runs: the hosts' key is known in advance.
        let known_hosts = ssh.known_hosts(dir.path());
        let host_key = std::fs::read_to_string(ssh.host_public_key()).expect("the sshd host key");
        let key_fields: Vec<&str> = host_key.split_whitespace().take(2).collect();
        let entries: String = (2..=254)
            .map(|last| format!("[127.0.0.{last}]:{} {}\n", ssh.port, key_fields.join(" ")))
            .collect();
        std::fs::write(&known_hosts, entries).expect("write known_hosts");
        let task_engine = start_service(
            dir.path(),
            "task-engine",
            &format!(
                "{}{}{}[ssh]\nuser = \"{}\"\nkey = \"{}\"\nport = {}\nhost_key_policy = \"yes\"\n\
                 known_hosts = \"{}\"\ncontrol_dir = \"{}\"\ncommand_timeout_secs = 60\n\n\
                 [events]\n# The orchestrator below binds 127.0.0.1, port 0.\nallowed_urls = [\"http://127.0.0.1:*/internal/task_event\"]\n\n\
                 [run]\nretry_pause_ms = 200\n# A crashed engine's tasks are taken over within seconds.\nlease_secs = 3\n\n\
                 # The peers are called with [identity] above.\n\
                 [peers.cloud_portal]\nurl = \"{}\"\n\n\
                 [peers.soa_registry]\nurl = \"{}\"\nzkidc = \"{ZKIDC}\"\n\n\
                 [peers.cmdb]\nurl = \"{}\"\n",
                common(&engine_db.config.url),
                auth(&portal),
                identity(&portal, "task-engine", TASK_ENGINE_SECRET),
                ssh.user,
                ssh.client_key().display(),
                ssh.port,
                known_hosts.display(),
                dir.path().display(),
                cloud_portal.url,
                soa_registry.url,
                cmdb.url,
            ),
        );

        let orchestrator_db = database("e2e_orch");
        let orchestrator = start_service(
            dir.path(),
            "orchestrator",
            &format!(
                "{}{}{}[task_engine]\nurl = \"{}\"\n\n[events]\nreconcile_interval_ms = 2000\n",
                common(&orchestrator_db.config.url),
                auth(&portal),
                identity(&portal, "orchestrator", ORCHESTRATOR_SECRET),
                task_engine.url,
            ),
        );

        let token = password_token(&portal, PORTAL_ADMIN, PORTAL_PASSWORD);
        Platform {
            token,
            orchestrator,
            task_engine,
            cloud_portal,
            soa_registry,
            cmdb,
            zk_connect,
            dir,
            _databases: vec![cmdb_db, portal_db, engine_db, orchestrator_db],
        }
    }

    fn config(&self, url: &str) -> ClientConfig {
        let mut config = ClientConfig::new(url).with_token(self.token.clone());
        config.timeout = Duration::from_secs(30);
        config
    }

    /// The orchestrator as the holder of `token`.
    pub fn orchestrator_as(&self, token: &str) -> OrchestratorClient {
        let mut config = self.config(&self.orchestrator.url);
        config.credentials = client::Credentials::bearer(token);
        OrchestratorClient::new(config).expect("a client")
    }

    /// The task routes through the front door, as the holder of `token`.
    pub fn tasks_as(&self, token: &str) -> TaskEngineClient {
        let mut config = self.config(&self.orchestrator.url);
        config.credentials = client::Credentials::bearer(token);
        TaskEngineClient::new(config).expect("a client")
    }

    /// A person `username` made in cloud-portal (an ordinary user: a viewer platform-wide),
    /// granted `role` on `cluster` by the admin; their access token.
    pub async fn person_granted(&self, username: &str, role: &str, cluster: i64) -> String {
        let password = format!("{username}-e2e-password-1");
        let admin = CloudPortalClient::new(self.config(&self.cloud_portal.url)).expect("a client");
        for (path, params) in [
            (
                "/api/admin/user/add",
                json!({"username": username, "password": password, "role": "user"}),
            ),
            (
                "/api/admin/grant/add",
                json!({"username": username, "role": role, "cluster_id": cluster}),
            ),
        ] {
            let reply = admin
                .call_raw(path, Encoding::Form, &params)
                .await
                .expect("cloud-portal answers");
            assert_eq!(reply.body["code"], 0, "{path}: {}", reply.body);
        }
        client::credentials::password_grant(
            &format!("{}/oauth/token", self.cloud_portal.url),
            username,
            &password,
        )
        .await
        .expect("the person gets a token")
        .access_token
    }

    /// The trail of `service` (its `/audit/list`) for `actor`: each change's action and `via`.
    pub async fn trail_of(&self, service: &Service, actor: &str) -> Vec<(String, String)> {
        let client = TaskEngineClient::new(self.config(&service.url)).expect("a client");
        let reply = client
            .call_raw(
                Method::POST,
                "/audit/list",
                Encoding::Json,
                &json!({"actor": actor, "page_size": 200}),
            )
            .await
            .expect("the trail");
        assert_eq!(reply.body["code"], 0, "{}: {}", service.name, reply.body);
        reply.body["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or_default().to_string(),
                    e["via"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    pub fn orchestrator(&self) -> OrchestratorClient {
        OrchestratorClient::new(self.config(&self.orchestrator.url)).expect("a client")
    }

    /// The task routes, through the orchestrator's front door (as the seed's scripts do).
    pub fn tasks(&self) -> TaskEngineClient {
        TaskEngineClient::new(self.config(&self.orchestrator.url)).expect("a client")
    }

    pub fn cmdb(&self) -> CmdbClient {
        CmdbClient::new(self.config(&self.cmdb.url))
            .expect("a client")
            .with_key(CMDB_KEY, CMDB_SECRET)
    }

    pub fn soa_registry(&self) -> SoaRegistryClient {
        SoaRegistryClient::new(self.config(&self.soa_registry.url), SOA_KEY, ZKIDC)
            .expect("a client")
    }

    /// cloud-portal as the task-engine's service identity: the account its steps act as.
    pub fn cloud_portal_as_task_engine(&self) -> CloudPortalClient {
        let token_url = format!("{}/oauth/token", self.cloud_portal.url);
        let mut config = ClientConfig::new(&self.cloud_portal.url).with_credentials(
            client::Credentials::client(
                &token_url,
                "task-engine",
                TASK_ENGINE_SECRET.to_string().into(),
            ),
        );
        config.timeout = Duration::from_secs(30);
        CloudPortalClient::new(config).expect("a client")
    }

    /// A cloud-portal client logged in as the admin.
    pub async fn cloud_portal(&self) -> CloudPortalClient {
        let anonymous =
            CloudPortalClient::new(self.config(&self.cloud_portal.url)).expect("a client");
        let key = anonymous
            .login(PORTAL_ADMIN, PORTAL_PASSWORD)
            .await
            .expect("the admin logs in to cloud-portal");
        anonymous.with_session(&key)
    }

    /// Every task with its nodes and log, for a failing assertion's message.
    pub async fn tasks_report(&self) -> String {
        let tasks = self.tasks();
        let listed = match tasks.tasks(1, 50).await {
            Ok(listed) => listed,
            Err(e) => return format!("tasks cannot be listed: {e}"),
        };
        let mut report = String::new();
        for task in listed.data {
            report.push_str(&format!(
                "---- task {} `{}` state {} stat {:?}\n",
                task.id, task.task_name, task.status, task.stat
            ));
            if let Ok(nodes) = tasks.task_detail(task.id).await {
                for node in nodes {
                    report.push_str(&format!(
                        "  node {} ip `{}` state {} step {} `{}`\n",
                        node.id, node.ip, node.state, node.step, node.step_name
                    ));
                }
            }
            if let Ok(rows) = tasks.task_log(task.id).await {
                for row in rows.iter().rev().take(12).rev() {
                    report.push_str(&format!("  log: {}\n", row.message));
                }
            }
        }
        report
    }

    /// Every service's log, for a failing assertion's message.
    pub fn logs(&self) -> String {
        [
            &self.orchestrator,
            &self.task_engine,
            &self.cloud_portal,
            &self.soa_registry,
            &self.cmdb,
        ]
        .iter()
        .map(|s| {
            let log = s.log();
            // Request lines say little here; warnings and errors say what went wrong.
            let tail: Vec<&str> = log
                .lines()
                .rev()
                .filter(|line| !line.contains("\"message\":\"served\""))
                .take(40)
                .collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            format!("---- {} ----\n{}\n", s.name, tail.join("\n"))
        })
        .collect()
    }
}

// ---- what tests do with the platform ----

/// Polls `check` until it returns `Some`, for up to `secs`; the panic says what was awaited.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, platform: &Platform, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!(
                "{what}: not reached within {secs} s\n{}\n{}",
                platform.tasks_report().await,
                platform.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// As [`eventually`], for a check that says what it saw when it is not there yet (`Err`): a
/// timeout then shows the last of it beside the tasks and logs.
pub async fn eventually_seen<T, F, Fut>(
    secs: u64,
    what: &str,
    platform: &Platform,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let seen = match check().await {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if Instant::now() > deadline {
            panic!(
                "{what}: not reached within {secs} s; last seen: {seen}\n{}\n{}",
                platform.tasks_report().await,
                platform.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn post(orch: &OrchestratorClient, path: &str, body: Value) -> RawReply {
    orch.call_raw(Method::POST, path, Encoding::Json, &body)
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

pub fn assert_ok(reply: &RawReply, what: &str) {
    assert!(
        reply.status.is_success() && reply.body["code"] == json!(0),
        "{what}: {} {}",
        reply.status,
        reply.body
    );
}

/// The pool's nodes as the orchestrator lists them.
pub async fn nodes(orch: &OrchestratorClient, pool: i64) -> Vec<Value> {
    let reply = orch
        .call_raw(
            Method::GET,
            &format!("/pool/{pool}/list_nodes"),
            Encoding::Query,
            &json!({"page": 1, "page_size": 100}),
        )
        .await
        .expect("list_nodes answers");
    assert_ok(&reply, "list_nodes");
    reply.body["data"].as_array().cloned().unwrap_or_default()
}

/// The new id a create call answers: `data` itself (clusters) or `data.id` (the others).
pub fn new_id(reply: &RawReply, what: &str) -> i64 {
    let data = &reply.body["data"];
    data.as_i64()
        .or_else(|| data["id"].as_i64())
        .unwrap_or_else(|| panic!("{what}: no id in {}", reply.body))
}

pub fn text(node: &Value, key: &str) -> String {
    node[key].as_str().unwrap_or_default().to_string()
}

/// Nodes whose state name is `state` (`ok`, `failed`, ...).
pub fn in_state<'a>(nodes: &'a [Value], state: &str) -> Vec<&'a Value> {
    nodes.iter().filter(|n| text(n, "state") == state).collect()
}

pub async fn action(platform: &Platform, name: &str, args: &str) {
    let tasks = platform.tasks();
    let id = tasks
        .create_action(&te::ActionRequest {
            name: Some(name.into()),
            desc: Some(format!("e2e {name}")),
            params: Some(Map::new()),
        })
        .await
        .expect("create an action through the front door");
    let mut template = Map::new();
    template.insert("action".into(), json!({"module": "shell", "args": args}));
    tasks
        .create_action_impl(&te::ActionImplRequest {
            action_id: Some(id),
            impl_type: Some("ansible".into()),
            template: Some(template),
        })
        .await
        .expect("create its implementation");
    tasks
        .create_remote_step(&te::RemoteStepRequest {
            name: Some(name.into()),
            desc: Some(format!("e2e {name}")),
            actions: Some(vec![name.into()]),
        })
        .await
        .expect("create a remote step of it");
}

pub fn step(name: &str, params: Value) -> te::TemplateStep {
    te::TemplateStep {
        name: name.into(),
        param_values: params.as_object().cloned().unwrap_or_default(),
        retry: te::Retry::default(),
    }
}

pub async fn template(platform: &Platform, name: &str, steps: Vec<te::TemplateStep>) -> i64 {
    platform
        .tasks()
        .create_template(&te::TemplateRequest {
            name: Some(name.into()),
            desc: Some(format!("e2e {name}")),
            steps: Some(steps),
        })
        .await
        .expect("create a template through the front door")
}

/// cluster → service (image `registry.local/web:1.0`) → registry target → pool `web-pool`
/// with `templates` = [expand, shrink, deploy]; answers the pool's id.
pub async fn web_pool(
    orch: &OrchestratorClient,
    image_id: i64,
    soa_service: &str,
    soa_port: u16,
    templates: [i64; 3],
) -> i64 {
    let cluster = post(
        orch,
        "/cluster/create",
        json!({"name": "e2e", "desc": "e2e", "biz": "e2e"}),
    )
    .await;
    assert_ok(&cluster, "create the cluster");
    let cluster_id = new_id(&cluster, "cluster id");
    let service = post(
        orch,
        "/service/create",
        json!({"name": "web", "desc": "web", "service_type": "Java",
               "docker_image": "registry.local/web:1.0", "cluster_id": cluster_id}),
    )
    .await;
    assert_ok(&service, "create the service");
    let service_id = new_id(&service, "service id");
    let target = post(
        orch,
        "/sd/create",
        json!({"zkidc": ZKIDC, "service": soa_service, "port": soa_port}),
    )
    .await;
    assert_ok(&target, "create the registry target");
    let sd_id = new_id(&target, "registry target id");
    let [expand_tpl, shrink_tpl, deploy_tpl] = templates;
    let pool = post(
        orch,
        "/pool/create",
        json!({"name": "web-pool", "desc": "web", "vm_type": image_id, "sd_id": sd_id,
               "service_id": service_id, "expand_tpl": expand_tpl,
               "shrink_tpl": shrink_tpl, "deploy_tpl": deploy_tpl}),
    )
    .await;
    assert_ok(&pool, "create the pool");
    new_id(&pool, "pool id")
}
