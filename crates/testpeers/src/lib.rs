//! The peers of the task-engine's built-in steps — cloud-portal, soa-registry (embedded store,
//! zkidc [`ZKIDC`]) and cmdb — started in-process on port 0 from their library crates, for the
//! integration suites of the services that call them (task-engine, orchestrator). The
//! end-to-end suite (`tests/e2e`) runs them as processes instead.
//!
//! They trust the test issuer, and let the task-engine's service identity ([`TASK_ENGINE`])
//! do what its built-in steps do: cloud-portal makes it a portal user on first sight,
//! soa-registry lets it use [`ZKIDC`], cmdb creates the `dcp_*` types it writes at start.

// Test support: a panic is how a broken fixture fails its test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use client::{ClientConfig, CloudPortalClient, CmdbClient, SoaRegistryClient, TaskEngineClient};
use kit::auth::Role;
use kit::config::DatabaseConfig;
use kit::testing::issuer::{issuer, TestIssuer};
use kit::testing::sshd::{self, Sshd};
use kit::testing::{serve, test_http, Served, TestBackend, TestDatabase};
use task_engine::config::{HostKeyPolicy, RunConfig, SshConfig};

/// cloud-portal's configuration, for [`Peers::start_with`].
pub use cloud_portal::Config as CloudPortalConfig;

pub const CP_ADMIN: &str = "cp-admin";
pub const CP_ADMIN_PASSWORD: &str = "cp-admin-password";
/// The client id of the task-engine's service identity at the test issuer: the subject its
/// built-in steps act as.
pub const TASK_ENGINE: &str = "task-engine";
/// A cloud-portal account with role `service`, for the legacy seed credentials of the
/// task-engine's `[peers]` ([`Peers::configure_legacy`]).
pub const CP_SERVICE: &str = "dcp-service";
pub const CP_SERVICE_PASSWORD: &str = "dcp-service-password";
pub const SOA_KEY: &str = "dcp-it-soa-key";
pub const ZKIDC: &str = "qa";
pub const CMDB_KEY: &str = "dcp-it-cmdb-key";
pub const CMDB_SECRET: &str = "dcp-it-cmdb-secret";

/// The three peers, each on its own fresh database (cmdb, cloud-portal) or folder.
pub struct Peers {
    pub cloud_portal: Served,
    pub soa_registry: Served,
    pub cmdb: Served,
    /// A cloud-portal image: the pools' `vm_type`, `create_vm`'s `vm_type_id`.
    pub image_id: i64,
    _dbs: Vec<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Peers {
    /// The peers, with `hosts` cloud-portal hosts 127.0.0.2.. of one slot each (SSH port 22).
    pub async fn start(backend: TestBackend, hosts: u8) -> Peers {
        Peers::start_with(backend, hosts, |_| {}).await
    }

    /// As [`Peers::start`], with cloud-portal's configuration adjusted by `adjust`.
    pub async fn start_with(
        backend: TestBackend,
        hosts: u8,
        adjust: impl FnOnce(&mut cloud_portal::Config),
    ) -> Peers {
        let dir = tempfile::tempdir().expect("a temp folder");

        // cloud-portal: no demo data, cheap password hashes, an admin, a service account.
        let cp_db = TestDatabase::create(backend, "peer_cp");
        let mut cp_config = cloud_portal::Config {
            http: test_http(),
            database: cp_db.config.clone(),
            auth: issuer().auth_config(),
            ..cloud_portal::Config::default()
        };
        cp_config.demo.enabled = false;
        cp_config.admin.username = CP_ADMIN.into();
        cp_config.admin.password = CP_ADMIN_PASSWORD.into();
        cp_config.password_hash.memory_kib = 64;
        cp_config.password_hash.iterations = 1;
        adjust(&mut cp_config);
        let cloud_portal = serve(
            cloud_portal::start(cp_config)
                .await
                .expect("cloud-portal starts"),
        );
        let cp = CloudPortalClient::new(ClientConfig::new(&cloud_portal.url)).expect("client");
        let key = cp
            .login(CP_ADMIN, CP_ADMIN_PASSWORD)
            .await
            .expect("the admin logs in");
        let admin = cp.with_session(&key);
        admin
            .add_user(CP_SERVICE, CP_SERVICE_PASSWORD, "service")
            .await
            .expect("a service account");
        for n in 0..hosts {
            admin
                .add_host(&format!("127.0.0.{}", n + 2), 22, 1)
                .await
                .expect("a host");
        }
        let image_id = admin
            .add_image("dcp-it-image", None)
            .await
            .expect("an image")
            .id;

        // soa-registry on its embedded store.
        let soa_config = soa_registry::config::Config {
            http: test_http(),
            store: soa_registry::config::StoreConfig {
                data_dir: dir.path().join("soa").display().to_string(),
                ..soa_registry::config::Config::default().store
            },
            zkidcs: [(
                ZKIDC.to_string(),
                soa_registry::config::EMBEDDED.to_string(),
            )]
            .into_iter()
            .collect(),
            keys: vec![soa_registry::config::ApiKey {
                key: SOA_KEY.into(),
                owner: "dcp-it".into(),
                zkidcs: Vec::new(),
            }],
            service_zkidcs: [(TASK_ENGINE.to_string(), vec![ZKIDC.to_string()])]
                .into_iter()
                .collect(),
            auth: issuer().auth_config(),
            ..soa_registry::config::Config::default()
        };
        let soa_registry = serve(
            soa_registry::start(soa_config)
                .await
                .expect("soa-registry starts"),
        );

        // cmdb with a known admin key, making the platform's `dcp_*` types at start.
        let cmdb_db = TestDatabase::create(backend, "peer_cmdb");
        let mut cmdb_config = cmdb::Config {
            http: test_http(),
            database: cmdb_db.config.clone(),
            auth: issuer().auth_config(),
            ..cmdb::Config::default()
        };
        cmdb_config.platform.ensure_types = true;
        cmdb_config.api_keys.admin_key = CMDB_KEY.into();
        cmdb_config.api_keys.admin_secret = CMDB_SECRET.into();
        cmdb_config.api_keys.credentials_file =
            dir.path().join("cmdb-admin.json").display().to_string();
        let cmdb = serve(cmdb::start(cmdb_config).await.expect("cmdb starts"));

        Peers {
            cloud_portal,
            soa_registry,
            cmdb,
            image_id,
            _dbs: vec![cp_db, cmdb_db],
            _dir: dir,
        }
    }

    /// Points a task-engine's `[peers]` at these peers (the URLs and the default zkidc), to
    /// be called with its service identity [`TASK_ENGINE`] (`[identity]`).
    pub fn configure(&self, config: &mut task_engine::Config) {
        use task_engine::config::{CloudPortalPeer, CmdbPeer, SoaRegistryPeer};
        config.identity = service_identity(TASK_ENGINE);
        config.peers.cloud_portal = CloudPortalPeer {
            url: self.cloud_portal.url.clone(),
            ..CloudPortalPeer::default()
        };
        config.peers.soa_registry = SoaRegistryPeer {
            url: self.soa_registry.url.clone(),
            zkidc: ZKIDC.into(),
            ..SoaRegistryPeer::default()
        };
        config.peers.cmdb = CmdbPeer {
            url: self.cmdb.url.clone(),
            ..CmdbPeer::default()
        };
    }

    /// As [`Peers::configure`], with the legacy seed credentials instead of an identity: the
    /// cloud-portal account [`CP_SERVICE`], the soa-registry key, cmdb's admin key (and no
    /// `[identity]`, so task events go without a token).
    pub fn configure_legacy(&self, config: &mut task_engine::Config) {
        use task_engine::config::{CloudPortalPeer, CmdbPeer, SoaRegistryPeer};
        config.identity = client::credentials::IdentityConfig::default();
        config.peers.cloud_portal = CloudPortalPeer {
            url: self.cloud_portal.url.clone(),
            username: CP_SERVICE.into(),
            password: CP_SERVICE_PASSWORD.into(),
        };
        config.peers.soa_registry = SoaRegistryPeer {
            url: self.soa_registry.url.clone(),
            key: SOA_KEY.into(),
            zkidc: ZKIDC.into(),
        };
        config.peers.cmdb = CmdbPeer {
            url: self.cmdb.url.clone(),
            key: CMDB_KEY.into(),
            secret: CMDB_SECRET.into(),
        };
    }

    /// cloud-portal as the task-engine's service identity: whose instances its steps make.
    pub fn cloud_portal_service(&self) -> CloudPortalClient {
        CloudPortalClient::new(
            ClientConfig::new(&self.cloud_portal.url)
                .with_credentials(service_identity(TASK_ENGINE).credentials()),
        )
        .expect("client")
    }

    /// cloud-portal, logged in as the legacy service account [`CP_SERVICE`].
    pub async fn cloud_portal_legacy(&self) -> CloudPortalClient {
        let cp = CloudPortalClient::new(ClientConfig::new(&self.cloud_portal.url)).expect("client");
        let key = cp
            .login(CP_SERVICE, CP_SERVICE_PASSWORD)
            .await
            .expect("the service account logs in");
        cp.with_session(&key)
    }

    pub fn soa_registry_client(&self) -> SoaRegistryClient {
        SoaRegistryClient::new(ClientConfig::new(&self.soa_registry.url), SOA_KEY, ZKIDC)
            .expect("client")
    }

    /// cmdb, signing as the admin.
    pub fn cmdb_client(&self) -> CmdbClient {
        CmdbClient::new(ClientConfig::new(&self.cmdb.url))
            .expect("client")
            .with_key(CMDB_KEY, CMDB_SECRET)
    }
}

/// A task-engine's ssh settings for the shared sshd `server`, with a known-hosts file and a
/// socket folder of the caller's (`dir`), so engines do not share learnt keys or connections.
pub fn task_engine_ssh(server: &Sshd, dir: &Path) -> SshConfig {
    SshConfig {
        user: server.user.clone(),
        key: server.client_key().display().to_string(),
        port: server.port,
        host_key_policy: HostKeyPolicy::AcceptNew,
        known_hosts: server.known_hosts(dir).display().to_string(),
        connect_timeout_secs: 10,
        command_timeout_secs: 60,
        control_dir: dir.display().to_string(),
        control_persist_secs: 5,
        ..SshConfig::default()
    }
}

/// A task-engine's configuration for an integration suite: port 0, `database`, the shared
/// sshd with `ssh_dir` as its folder (see [`task_engine_ssh`]), at most `concurrency` nodes
/// of a batch at a time, retries pausing 50 ms, leases of 30 s; it trusts the test issuer and
/// sends its events as the service identity `task-engine`.
pub fn task_engine_config(
    database: &DatabaseConfig,
    ssh_dir: &Path,
    concurrency: usize,
) -> task_engine::Config {
    task_engine::Config {
        http: test_http(),
        database: database.clone(),
        ssh: task_engine_ssh(sshd::shared(), ssh_dir),
        run: RunConfig {
            concurrency,
            retry_pause_ms: 50,
            lease_secs: 30,
        },
        auth: issuer().auth_config(),
        identity: service_identity("task-engine"),
        ..task_engine::Config::default()
    }
}

/// The `[identity]` of service `client_id` at the test issuer (client credentials).
pub fn service_identity(client_id: &str) -> client::credentials::IdentityConfig {
    client::credentials::IdentityConfig {
        token_url: issuer().token_url(),
        client_id: client_id.into(),
        client_secret: TestIssuer::client_secret(client_id).into(),
    }
}

/// The subject of the admin token [`serve_task_engine`]'s client calls with.
pub const TESTER: &str = "tester";

/// Starts a task-engine with `config`: its server and a client of it, calling as the admin
/// [`TESTER`].
pub async fn serve_task_engine(config: task_engine::Config) -> (Served, TaskEngineClient) {
    let bound = task_engine::start(config)
        .await
        .expect("task-engine starts");
    let server = serve(bound);
    let client = TaskEngineClient::new(
        ClientConfig::new(&server.url).with_token(issuer().token(TESTER, &[Role::Admin])),
    )
    .expect("client builds");
    (server, client)
}
