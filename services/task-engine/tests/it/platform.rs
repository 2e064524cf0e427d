//! The built-in steps against the real peers, started in-process on port 0 from their library
//! crates: cloud-portal (its host pool is 127.0.0.2.., which all reach the shared sshd),
//! soa-registry (embedded store) and cmdb. Task events go to a tiny actix server of the test.
//! The engine calls them with its own service identity (`task-engine`), or, in one test, with
//! the legacy seed credentials.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use client::{ClientConfig, CloudPortalClient, CmdbClient, SoaRegistryClient};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use kit::testing::{serve_at, Served, TestBackend, TestDatabase};
use serde_json::{json, Map, Value};

use testpeers::{CloudPortalConfig, Peers, CP_SERVICE, CP_SERVICE_PASSWORD, TASK_ENGINE};
use wire::cloud_portal::STATUS_DELETED;
use wire::task_engine as w;

use crate::support::{object, TestApp};

kit::on_both_backends!(
    deploy_and_teardown_across_cloud_portal_soa_registry_and_cmdb,
    built_in_steps_without_their_peer_fail_naming_the_config_key,
    create_vm_run_again_reuses_the_instance_it_created,
    events_reach_the_notify_url_and_a_bad_one_is_refused,
    a_notify_url_outside_the_allowed_urls_is_refused,
    the_legacy_seed_credentials_still_work_and_an_expired_session_is_renewed,
    record_ci_never_creates_a_ci_type,
);

const SERVICE: &str = "dcp.it.web";
const PORT: u16 = 8080;

/// How the engine calls its peers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Calling {
    /// With its own service identity `task-engine` (`[identity]`).
    AsItself,
    /// With the legacy seed credentials of `[peers]` (and no `[identity]`).
    WithLegacyCredentials,
}

/// The three peers and a task-engine configured to call them.
struct Platform {
    app: TestApp,
    /// cloud-portal as whoever the engine calls it as.
    cp_service: CloudPortalClient,
    soa: SoaRegistryClient,
    /// cmdb, signing as its admin.
    cmdb: CmdbClient,
    /// A cloud-portal image (the pools' `vm_type`).
    image_id: i64,
    cp_url: String,
    peers: Peers,
}

impl Platform {
    /// The peers with `hosts` cloud-portal hosts 127.0.0.2.. of one slot each, called as the
    /// engine's own identity.
    async fn start(backend: TestBackend, hosts: u8) -> Platform {
        Platform::start_with(backend, hosts, Calling::AsItself, |_| {}).await
    }

    /// As [`Platform::start`], calling as `calling`, with cloud-portal's configuration
    /// adjusted by `adjust`.
    async fn start_with(
        backend: TestBackend,
        hosts: u8,
        calling: Calling,
        adjust: impl FnOnce(&mut CloudPortalConfig),
    ) -> Platform {
        let peers = Peers::start_with(backend, hosts, adjust).await;
        let app = TestApp::spawn_config(backend, 20, |config| match calling {
            Calling::AsItself => peers.configure(config),
            Calling::WithLegacyCredentials => peers.configure_legacy(config),
        })
        .await;
        let cp_service = match calling {
            Calling::AsItself => peers.cloud_portal_service(),
            Calling::WithLegacyCredentials => peers.cloud_portal_legacy().await,
        };
        Platform {
            app,
            cp_service,
            soa: peers.soa_registry_client(),
            cmdb: peers.cmdb_client(),
            image_id: peers.image_id,
            cp_url: peers.cloud_portal.url.clone(),
            peers,
        }
    }

    /// The live instances of the account the engine calls cloud-portal as.
    async fn instances(&self) -> Vec<wire::cloud_portal::ListedInstance> {
        self.cp_service
            .my_instances(1000, 1)
            .await
            .expect("instances listed")
    }
}

/// A remote step `name` running one shell action.
async fn remote(app: &TestApp, name: &str, args: &str) {
    app.remote(name, json!({"module": "shell", "args": args}))
        .await;
}

fn step(name: &str) -> w::TemplateStep {
    w::TemplateStep {
        name: name.into(),
        param_values: Map::new(),
        retry: w::Retry::default(),
    }
}

async fn template(app: &TestApp, name: &str, steps: &[&str]) -> i64 {
    app.client
        .create_template(&w::TemplateRequest {
            name: Some(name.into()),
            desc: None,
            steps: Some(steps.iter().map(|s| step(s)).collect()),
        })
        .await
        .expect("template created")
}

fn request(template_id: i64, nodes: Vec<Value>, params: Value) -> w::TaskRequest {
    w::TaskRequest {
        template_id,
        task_name: "platform".into(),
        opr_user: "it".into(),
        nodes,
        params: Some(object(params)),
        pool_name: Some("web-pool".into()),
        ..w::TaskRequest::default()
    }
}

/// Asserts that task `id` succeeded; if not, says what its nodes logged.
async fn assert_succeeded(app: &TestApp, id: i64, task: &w::Task) {
    assert_eq!(
        task.status,
        w::STATE_SUCCESS,
        "{}",
        task_log_text(app, id).await
    );
}

async fn task_log_text(app: &TestApp, id: i64) -> String {
    let mut text = String::new();
    for node in app.client.task_detail(id).await.expect("detail") {
        text.push_str(&app.node_log_text(node.id).await);
        text.push('\n');
    }
    text
}

fn var_text(node: &w::TaskNode, key: &str) -> String {
    match node.vars.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

async fn deploy_and_teardown_across_cloud_portal_soa_registry_and_cmdb(backend: TestBackend) {
    let p = Platform::start(backend, 3).await;
    let app = &p.app;
    let files = tempfile::tempdir().expect("a folder for the nodes' files");
    // Runs over ssh on the node's new address; the file says which address was dialled.
    remote(
        app,
        "mark",
        "echo \"{{tag}} $(echo $SSH_CONNECTION | cut -d' ' -f3)\" > {{dir}}/{{ip}}.txt",
    )
    .await;
    let deploy = template(
        app,
        "expand",
        &["create_vm", "mark", "register", "record_ci"],
    )
    .await;
    let params = json!({
        "vm_type_id": p.image_id, "service": SERVICE, "port": PORT, "zkidc": "qa",
        "tag": "v1.2", "cluster": "c1", "service_name": "web", "pool": "web-pool",
        "dir": files.path().display().to_string(),
    });
    let nodes: Vec<Value> = (1..=3)
        .map(|n| json!({"ip": "", "node_id": 40 + n, "vm_id": ""}))
        .collect();
    let (id, task) = app.run(&request(deploy, nodes, params.clone())).await;
    assert_succeeded(app, id, &task).await;

    // Each node learnt its instance and address, kept its own keys, and has its ids.
    let detail = app.client.task_detail(id).await.expect("detail");
    let ips: BTreeSet<String> = detail.iter().map(|n| n.ip.clone()).collect();
    let want: BTreeSet<String> = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        .map(String::from)
        .into();
    assert_eq!(ips, want);
    let instances = p.instances().await;
    assert_eq!(instances.len(), 3, "{instances:?}");
    for node in &detail {
        assert_eq!(node.state, w::STATE_SUCCESS);
        assert_eq!(var_text(node, "ip"), node.ip);
        assert_eq!(var_text(node, "vm_id"), node.vm_id);
        assert_eq!(var_text(node, "instance_id"), node.vm_id);
        assert!(!var_text(node, "soa_key").is_empty(), "{:?}", node.vars);
        assert!(!var_text(node, "ci_id").is_empty(), "{:?}", node.vars);
        assert!(node.vars.contains_key("node_id"));
        let vm_id: i64 = node.vm_id.parse().expect("an instance id");
        let instance = p.cp_service.query_instance(vm_id).await.expect("instance");
        assert_eq!(instance.host.as_deref(), Some(node.ip.as_str()));
        assert_eq!(instance.name, format!("f{id}-n{}", node.id));
        // The remote step ran on the new address, with the task's tag.
        let file = files.path().join(format!("{}.txt", node.ip));
        let text = std::fs::read_to_string(&file).expect("the node's file");
        assert_eq!(text.trim(), format!("v1.2 {}", node.ip));
    }

    // soa-registry: three servers, the nodes' keys.
    let servers = p.soa.server_list(SERVICE).await.expect("servers");
    let registered: BTreeSet<(String, u16, String)> = servers
        .iter()
        .map(|s| (s.host.clone(), s.port, s.key.clone()))
        .collect();
    let expected: BTreeSet<(String, u16, String)> = detail
        .iter()
        .map(|n| (n.ip.clone(), PORT, var_text(n, "soa_key")))
        .collect();
    assert_eq!(registered, expected);

    // cmdb: three node CIs, each in the pool CI, which is in the service CI.
    let found = p
        .cmdb
        .search(json!({"_type": "dcp_node", "count": 100}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 3);
    let mut pools = BTreeSet::new();
    for node in &detail {
        let ci_id: i64 = var_text(node, "ci_id").parse().expect("a CI id");
        let ci = p.cmdb.ci(ci_id).await.expect("the node's CI").ci;
        assert_eq!(ci["ip"], json!(node.ip));
        assert_eq!(ci["instance_id"], json!(node.vm_id));
        assert_eq!(
            (ci["pool"].clone(), ci["service"].clone()),
            (json!("web-pool"), json!("web"))
        );
        let parents = p.cmdb.first_cis(ci_id).await.expect("parents");
        assert_eq!(parents.numfound, 1);
        assert_eq!(parents.first_cis[0]["ci_type"], json!("dcp_pool"));
        pools.insert(parents.first_cis[0]["_id"].as_i64().expect("an id"));
    }
    assert_eq!(pools.len(), 1, "one pool CI for the three nodes");
    let pool_ci = pools.into_iter().next().unwrap_or_default();
    let service = p.cmdb.first_cis(pool_ci).await.expect("the pool's parents");
    assert_eq!(service.numfound, 1);
    assert_eq!(service.first_cis[0]["ci_type"], json!("dcp_service"));
    assert_eq!(service.first_cis[0]["service"], json!("web"));
    let types = p
        .cmdb
        .citype_children(
            service.first_cis[0]["_type"]
                .as_i64()
                .expect("the service type"),
        )
        .await
        .expect("type relations");
    assert!(types
        .children
        .iter()
        .any(|c| c.citype.type_name == "dcp_pool"));

    // Every step acted as the engine's own identity: cmdb's history names `task-engine` for
    // every change; the instances are its own in cloud-portal, the legacy account has none.
    let all = p.cmdb.history(json!({})).await.expect("history");
    let engine = p
        .cmdb
        .history(json!({"username": TASK_ENGINE}))
        .await
        .expect("the engine's history");
    assert!(engine.numfound > 0, "{engine:?}");
    assert_eq!(engine.numfound, all.numfound, "{all:?}");
    let record = p
        .cmdb
        .history_record(engine.records[0].record_id)
        .await
        .expect("a record");
    assert_eq!(record.username, TASK_ENGINE);
    let legacy = p.peers.cloud_portal_legacy().await;
    assert!(legacy
        .my_instances(1000, 1)
        .await
        .expect("the legacy account's instances")
        .is_empty());

    // The way back: a task over the nodes as detail shows them (what an orchestrator sends).
    let teardown = template(app, "shrink", &["unregister", "return_vm", "remove_ci"]).await;
    let nodes: Vec<Value> = detail
        .iter()
        .map(|n| Value::Object(n.vars.clone()))
        .collect();
    let (back, task) = app.run(&request(teardown, nodes, params)).await;
    assert_succeeded(app, back, &task).await;
    assert!(p
        .soa
        .server_list(SERVICE)
        .await
        .expect("servers")
        .is_empty());
    assert!(p.instances().await.is_empty());
    for node in &detail {
        let vm_id: i64 = node.vm_id.parse().expect("an instance id");
        let instance = p.cp_service.query_instance(vm_id).await.expect("instance");
        assert_eq!(instance.status, STATUS_DELETED);
    }
    let found = p
        .cmdb
        .search(json!({"_type": "dcp_node", "count": 100}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 0);
    for node in app.client.task_detail(back).await.expect("detail") {
        assert_eq!(node.vars.get("returned"), Some(&Value::Bool(true)));
        assert!(!node.vars.contains_key("soa_key"));
        assert!(!node.vars.contains_key("ci_id"));
    }

    // Run again, the way back finds nothing left to do and still succeeds.
    let nodes: Vec<Value> = detail
        .iter()
        .map(|n| Value::Object(n.vars.clone()))
        .collect();
    let (again, task) = app
        .run(&request(
            teardown,
            nodes,
            json!({"service": SERVICE, "port": PORT, "zkidc": "qa"}),
        ))
        .await;
    assert_succeeded(app, again, &task).await;
}

async fn built_in_steps_without_their_peer_fail_naming_the_config_key(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for (name, service, key) in [
        ("create_vm", "cloud-portal", "peers.cloud_portal.url"),
        ("return_vm", "cloud-portal", "peers.cloud_portal.url"),
        ("register", "soa-registry", "peers.soa_registry.url"),
        ("unregister", "soa-registry", "peers.soa_registry.url"),
        ("record_ci", "cmdb", "peers.cmdb.url"),
        ("remove_ci", "cmdb", "peers.cmdb.url"),
    ] {
        let tpl = template(&app, name, &[name]).await;
        let (id, task) = app
            .run(&request(tpl, vec![json!({"ip": "127.0.0.2"})], json!({})))
            .await;
        assert_eq!(task.status, w::STATE_FAILED, "{name}");
        let log = task_log_text(&app, id).await;
        let want =
            format!("built-in step `{name}` needs {service}, which is not configured (`{key}`)");
        assert!(log.contains(&want), "{log}");
    }
}

async fn create_vm_run_again_reuses_the_instance_it_created(backend: TestBackend) {
    let p = Platform::start(backend, 2).await;
    let app = &p.app;
    let tpl = template(app, "vm", &["create_vm"]).await;
    let params = json!({"vm_type": p.image_id});

    // A node sent with the vm_id of a live instance keeps it.
    let (id, task) = app
        .run(&request(tpl, vec![json!({"ip": ""})], params.clone()))
        .await;
    assert_succeeded(app, id, &task).await;
    let first = app.client.task_detail(id).await.expect("detail").remove(0);
    let (id, task) = app
        .run(&request(
            tpl,
            vec![json!({"ip": "", "vm_id": first.vm_id.clone()})],
            params.clone(),
        ))
        .await;
    assert_succeeded(app, id, &task).await;
    let again = app.client.task_detail(id).await.expect("detail").remove(0);
    assert_eq!(
        (again.vm_id.clone(), again.ip.clone()),
        (first.vm_id.clone(), first.ip.clone())
    );
    assert!(app
        .node_log_text(again.id)
        .await
        .contains("still exists: reused"));
    assert_eq!(p.instances().await.len(), 1);

    // An engine killed after cloud-portal created the instance, before the node's row said
    // so: the instance exists under the node's name, the node is RUNNING at create_vm with no
    // vm_id, and its task's lease has expired. The engine that takes it over finds the
    // instance by name instead of creating a second one.
    let id = app
        .client
        .create_task(&request(tpl, vec![json!({"ip": ""})], params))
        .await
        .expect("task created");
    let node = app.client.task_detail(id).await.expect("detail").remove(0);
    let orphan = p
        .cp_service
        .create_vms_of_image(p.image_id, 1, Some(&format!("f{id}-n{}", node.id)))
        .await
        .expect("the instance the killed engine created")
        .remove(0);
    execute_sql(
        &app.db,
        &format!(
            "UPDATE te_flow_nodes SET state = 1 WHERE id = {nid};
             UPDATE te_flows SET state = 1, owner = 'te-killed', lease_until = 0 WHERE id = {id};",
            nid = node.id
        ),
    );
    let task = app.wait_finished(id).await;
    assert_succeeded(app, id, &task).await;
    let node = app.client.task_detail(id).await.expect("detail").remove(0);
    assert_eq!(node.vm_id, orphan.id.to_string());
    assert_eq!(Some(node.ip.clone()), orphan.host);
    assert_eq!(p.instances().await.len(), 2, "no third instance");
}

/// Runs SQL on the engine's database, as a killed engine would have left it.
fn execute_sql(db: &TestDatabase, sql: &str) {
    let url = &db.config.url;
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut conn = diesel::SqliteConnection::establish(path).expect("the SQLite file opens");
        conn.batch_execute(sql).expect("SQL runs");
    } else {
        let mut conn = diesel::MysqlConnection::establish(url).expect("MariaDB connects");
        conn.batch_execute(sql).expect("SQL runs");
    }
}

/// A template `events` of one remote step, `hello`.
async fn hello_template(app: &TestApp) -> i64 {
    remote(app, "hello", "echo hello").await;
    template(app, "events", &["hello"]).await
}

/// A task of `tpl` on 127.0.0.2 that reports to `notify_url`.
fn notifying(tpl: i64, notify_url: String) -> w::TaskRequest {
    let mut req = request(tpl, vec![json!({"ip": "127.0.0.2"})], json!({}));
    req.notify_url = Some(notify_url);
    req
}

/// The `Authorization` of each event POSTed to the sink.
type Authorizations = Arc<Mutex<Vec<String>>>;

/// Collects what is POSTed to `/events`.
async fn event_sink() -> (Served, Arc<Mutex<Vec<w::TaskEvent>>>) {
    let (served, seen, _) = event_sink_with_authorizations().await;
    (served, seen)
}

/// As [`event_sink`], keeping the `Authorization` each event came with.
async fn event_sink_with_authorizations() -> (Served, Arc<Mutex<Vec<w::TaskEvent>>>, Authorizations)
{
    let seen: Arc<Mutex<Vec<w::TaskEvent>>> = Arc::new(Mutex::new(Vec::new()));
    let authorizations: Authorizations = Arc::new(Mutex::new(Vec::new()));
    let data = web::Data::from(seen.clone());
    let headers = web::Data::from(authorizations.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(headers.clone())
            .route(
                "/events{tail:.*}",
                web::post().to(
                    |req: actix_web::HttpRequest,
                     seen: web::Data<Mutex<Vec<w::TaskEvent>>>,
                     headers: web::Data<Mutex<Vec<String>>>,
                     event: web::Json<w::TaskEvent>| async move {
                        let authorization = req
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        if let Ok(mut list) = headers.lock() {
                            list.push(authorization);
                        }
                        if let Ok(mut list) = seen.lock() {
                            list.push(event.into_inner());
                        }
                        HttpResponse::Ok().finish()
                    },
                ),
            )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("the event sink binds");
    let addr = server.addrs()[0];
    (
        serve_at(server.run(), format!("http://{addr}/events")),
        seen,
        authorizations,
    )
}

async fn events_reach_the_notify_url_and_a_bad_one_is_refused(backend: TestBackend) {
    let (sink, seen, authorizations) = event_sink_with_authorizations().await;
    let nobody = format!(
        "http://127.0.0.1:{}/nobody",
        kit::testing::sshd::free_port()
    );
    let allowed = vec![sink.url.clone(), nobody.clone()];
    let app = TestApp::spawn_config(backend, 20, |config| {
        config.events.allowed_urls = allowed;
    })
    .await;
    let tpl = hello_template(&app).await;
    let mut req = request(
        tpl,
        vec![json!({"ip": "127.0.0.2"}), json!({"ip": "127.0.0.3"})],
        json!({}),
    );
    req.notify_url = Some(sink.url.clone());
    let (id, task) = app.run(&req).await;
    assert_eq!(task.status, w::STATE_SUCCESS);
    let nodes: Vec<i64> = app
        .client
        .task_detail(id)
        .await
        .expect("detail")
        .iter()
        .map(|n| n.id)
        .collect();
    // Delivery is in the background: wait until the task's end has arrived.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let events = loop {
        let events = seen.lock().map(|l| l.clone()).unwrap_or_default();
        if events.iter().any(|e| e.node_id.is_none()) && events.len() >= 5 {
            break events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "events so far: {events:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(events.iter().all(|e| e.fid == id));
    // Each node: started (RUNNING) and succeeded; the task: its end, SUCCESS.
    for nid in &nodes {
        let of_node = events.iter().filter(|e| e.node_id == Some(*nid)).count();
        assert_eq!(of_node, 2, "{events:?}");
    }
    let end: Vec<&w::TaskEvent> = events.iter().filter(|e| e.node_id.is_none()).collect();
    assert_eq!(end.len(), 1);
    assert_eq!(end[0].state, w::STATE_SUCCESS);
    // Each event carries the task-engine's own identity (`[identity]`, client credentials).
    let verifier =
        kit::auth::Verifier::new(kit::testing::issuer::issuer().auth_config()).expect("a verifier");
    let authorizations = authorizations.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(authorizations.len(), events.len());
    for authorization in &authorizations {
        let token = authorization
            .strip_prefix("Bearer ")
            .unwrap_or_else(|| panic!("not a bearer token: `{authorization}`"));
        let sender = verifier.verify(token).await.expect("the issuer's token");
        assert_eq!(sender.subject, "task-engine");
        assert!(sender.has(kit::auth::Role::Service), "{sender:?}");
    }

    // An unreachable notify_url does not hold the task up.
    let req = notifying(tpl, nobody);
    let (_, task) = app.run(&req).await;
    assert_eq!(task.status, w::STATE_SUCCESS);

    // Not http(s), or not a URL: refused.
    for bad in ["ftp://example.com/x", "not a url", "http://"] {
        let req = notifying(tpl, bad.to_string());
        let error = app.client.create_task(&req).await.expect_err(bad);
        assert_eq!(error.status(), Some(400), "{bad}: {error}");
        assert!(error.message().contains("notify_url"), "{error}");
    }
}

/// SSRF: the engine POSTs only under the base URLs of `events.allowed_urls`; anything else
/// (a cloud metadata endpoint, a look-alike of an allowed host) is refused at creation, naming
/// the setting, and no task is made.
async fn a_notify_url_outside_the_allowed_urls_is_refused(backend: TestBackend) {
    let (sink, seen) = event_sink().await;
    let base = sink.url.clone();
    let app = TestApp::spawn_config(backend, 20, |config| {
        config.events.allowed_urls = vec![base];
    })
    .await;
    let tpl = hello_template(&app).await;
    let port = sink
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/events")
        .to_string();
    for refused in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_string(),
        format!("http://127.0.0.1.nip.io:{port}/events"),
        format!("http://127.0.0.1:{port}@169.254.169.254/events"),
        format!("http://127.0.0.1:{port}/events-admin"),
        format!("http://127.0.0.1:{port}/events/../admin"),
        format!("http://localhost:{port}/events"),
        format!("https://127.0.0.1:{port}/events"),
        "http://127.0.0.1/events".to_string(),
    ] {
        let req = notifying(tpl, refused.clone());
        let error = app.client.create_task(&req).await.expect_err(&refused);
        assert_eq!(error.status(), Some(400), "{refused}: {error}");
        assert!(
            error.message().contains("events.allowed_urls"),
            "{refused}: {error}"
        );
    }
    let listed = app.client.tasks(1, 10).await.expect("tasks listed");
    assert_eq!(listed.data.len(), 0, "a refused task was made");
    // Below the base, the events arrive.
    let req = notifying(tpl, format!("{}/sub", sink.url));
    let (id, task) = app.run(&req).await;
    assert_eq!(task.status, w::STATE_SUCCESS);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen
        .lock()
        .map(|l| l.iter().any(|e| e.fid == id && e.node_id.is_none()))
        .unwrap_or(false)
    {
        assert!(std::time::Instant::now() < deadline, "no end event arrived");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // With no allowed URL at all (the default), every notify_url is refused.
    let closed = TestApp::spawn(backend).await;
    let tpl = hello_template(&closed).await;
    let req = notifying(tpl, sink.url.clone());
    let error = closed.client.create_task(&req).await.expect_err("refused");
    assert_eq!(error.status(), Some(400), "{error}");
    assert!(error.message().contains("events.allowed_urls"), "{error}");
}

async fn the_legacy_seed_credentials_still_work_and_an_expired_session_is_renewed(
    backend: TestBackend,
) {
    // No `[identity]`: the cloud-portal account, soa-registry's key, cmdb's admin key.
    // Sessions expire one second after their last use.
    let p = Platform::start_with(backend, 1, Calling::WithLegacyCredentials, |config| {
        config.session.idle_timeout_secs = 1;
    })
    .await;
    let app = &p.app;
    let create = template(app, "vm", &["create_vm", "register", "record_ci"]).await;
    let params = json!({
        "vm_type_id": p.image_id, "service": SERVICE, "port": PORT, "cluster": "c1",
        "service_name": "web", "pool": "web-pool",
    });
    let (id, task) = app
        .run(&request(create, vec![json!({"ip": ""})], params))
        .await;
    assert_succeeded(app, id, &task).await;
    let node = app.client.task_detail(id).await.expect("detail").remove(0);
    // The legacy account owns the instance; cmdb's history names its admin user.
    assert_eq!(p.instances().await.len(), 1);
    assert_eq!(p.soa.server_list(SERVICE).await.expect("servers").len(), 1);
    let history = p.cmdb.history(json!({})).await.expect("history");
    assert!(history.numfound > 0);
    assert!(
        history.records.iter().all(|r| r.username != TASK_ENGINE),
        "{history:?}"
    );
    // The engine's session has now expired; its next call is refused with code 2 first.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let back = template(app, "back", &["return_vm"]).await;
    let (id, task) = app
        .run(&request(
            back,
            vec![Value::Object(node.vars.clone())],
            json!({}),
        ))
        .await;
    assert_succeeded(app, id, &task).await;
    let vm_id: i64 = node.vm_id.parse().expect("an instance id");
    // The test's own session has expired too.
    let key = CloudPortalClient::new(ClientConfig::new(&p.cp_url))
        .expect("client")
        .login(CP_SERVICE, CP_SERVICE_PASSWORD)
        .await
        .expect("login");
    let instance = p
        .cp_service
        .with_session(&key)
        .query_instance(vm_id)
        .await
        .expect("instance");
    assert_eq!(instance.status, STATUS_DELETED);
}

async fn record_ci_never_creates_a_ci_type(backend: TestBackend) {
    let p = Platform::start(backend, 1).await;
    let app = &p.app;
    let tpl = template(app, "ci", &["record_ci"]).await;
    let (id, task) = app
        .run(&request(
            tpl,
            vec![json!({"ip": "127.0.0.2"})],
            json!({"service_name": "web", "pool": "web-pool", "ci_type": "dcp_rack"}),
        ))
        .await;
    assert_eq!(task.status, w::STATE_FAILED);
    let log = task_log_text(app, id).await;
    assert!(
        log.contains("cmdb's model lacks the CI type `dcp_rack`")
            && log.contains("[platform] ensure_types"),
        "{log}"
    );
    let error = p
        .cmdb
        .query_citype("dcp_rack")
        .await
        .expect_err("no such type");
    assert_eq!(error.status(), Some(404), "{error}");
}
