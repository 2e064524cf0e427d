use client::{ClientConfig, ClientError, CmdbClient};
use cmdb::Config;
use kit::auth::Role;
use kit::testing::issuer::issuer;
use kit::testing::{serve, test_http, Served, TestBackend, TestDatabase};
use serde_json::{json, Value};

pub const ADMIN_KEY: &str = "admin-key-for-tests";
pub const ADMIN_SECRET: &str = "admin-secret-for-tests";

pub struct TestApp {
    /// Signed with the admin's key.
    pub admin: CmdbClient,
    /// Signs nothing and sends no token.
    pub anonymous: CmdbClient,
    pub server: Served,
    /// How this instance was started, so that `another` can start one more on its database.
    config: Config,
    /// The first instance owns the database; the ones `another` starts borrow it.
    _db: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: TestBackend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDatabase::create(backend, "cmdb_it");
        let config = Self::config_for(&db.config, adjust);
        Self::start(config, Some(db)).await
    }

    /// An instance on `database`, which the caller owns (a private MariaDB of a drill).
    pub async fn spawn_on(database: &kit::config::DatabaseConfig) -> TestApp {
        Self::start(Self::config_for(database, |_| {}), None).await
    }

    /// One more cmdb process (as far as the database can tell) on this instance's database,
    /// with the same admin: what two replicas behind a load balancer are.
    pub async fn another(&self) -> TestApp {
        Self::start(self.config.clone(), None).await
    }

    /// Stops serving (the database stays for the instances `another` started).
    pub async fn stop(&self) {
        self.server.stop().await;
    }

    fn config_for(
        database: &kit::config::DatabaseConfig,
        adjust: impl FnOnce(&mut Config),
    ) -> Config {
        let mut config = Config {
            http: test_http(),
            database: database.clone(),
            ..Config::default()
        };
        config.api_keys.admin_key = ADMIN_KEY.into();
        config.api_keys.admin_secret = ADMIN_SECRET.into();
        config.auth = issuer().auth_config();
        // Scenarios count attributes and types: the platform's own are tested on their own.
        config.platform.ensure_types = false;
        adjust(&mut config);
        config
    }

    async fn start(config: Config, db: Option<TestDatabase>) -> TestApp {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut config = config;
        config.api_keys.credentials_file =
            dir.path().join("admin.json").to_string_lossy().into_owned();
        let bound = cmdb::start(config.clone()).await.expect("cmdb starts");
        let server = serve(bound);
        let anonymous = CmdbClient::new(ClientConfig::new(&server.url)).expect("client builds");
        TestApp {
            admin: anonymous.with_key(ADMIN_KEY, ADMIN_SECRET),
            anonymous,
            server,
            config,
            _db: db,
            _dir: dir,
        }
    }

    /// A client sending a bearer token of `subject` with `roles` (and no signature).
    pub fn bearer(&self, subject: &str, roles: &[Role]) -> CmdbClient {
        CmdbClient::new(
            ClientConfig::new(&self.server.url).with_token(issuer().token(subject, roles)),
        )
        .expect("client builds")
    }

    /// Attributes and a `server` type most scenarios use:
    /// hostname (text, unique), private_ip (text), idc (text, choice), cpu_core_num (int),
    /// ram (float), online (date), nic (text, multi-valued). Returns the type id.
    pub async fn server_model(&self) -> i64 {
        let a = &self.admin;
        let attributes = [
            json!({"attr_name": "hostname", "attr_alias": "主机名", "is_uniq": 1}),
            json!({"attr_name": "private_ip", "attr_alias": "IP"}),
            json!({"attr_name": "idc", "attr_alias": "IDC", "choice_value": ["IDC-A", "IDC-B", "IDC-C"]}),
            json!({"attr_name": "cpu_core_num", "value_type": "int"}),
            json!({"attr_name": "ram", "value_type": "float"}),
            json!({"attr_name": "online", "value_type": "date"}),
            json!({"attr_name": "nic", "is_multivalue": 1}),
            json!({"attr_name": "status"}),
        ];
        for params in &attributes {
            a.add_attribute(params.clone())
                .await
                .expect("attribute added");
        }
        let type_id = a
            .add_citype(
                json!({"type_name": "server", "type_alias": "服务器", "unique": "hostname"}),
            )
            .await
            .expect("type added")
            .type_id;
        // The type has the unique hostname already; the others are bound in their order.
        let mut ids = Vec::new();
        for params in &attributes[1..] {
            let name = params["attr_name"].as_str().expect("an attribute name");
            ids.push(attr_id(a, name).await);
        }
        a.bind_attributes(type_id, &ids, false)
            .await
            .expect("attributes bound");
        type_id
    }

    /// Adds the unique attribute `sn` that scenarios key their own types on; its id.
    pub async fn add_sn(&self) -> i64 {
        self.admin
            .add_attribute(json!({"attr_name": "sn", "is_uniq": 1}))
            .await
            .expect("sn")
            .attr_id
    }

    pub async fn add_server(&self, fields: Value) -> i64 {
        let mut params = json!({"ci_type": "server"});
        if let (Some(p), Value::Object(f)) = (params.as_object_mut(), fields) {
            p.extend(f);
        }
        self.admin.add_ci(params).await.expect("CI added").ci_id
    }
}

/// The id of the attribute `name` (its name, alias or id), read through `client`.
pub async fn attr_id(client: &CmdbClient, name: &str) -> i64 {
    client
        .attribute(name)
        .await
        .expect("attribute")
        .attribute
        .attr_id
}

/// The HTTP status and message of a refused call.
pub fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String) {
    match result {
        Err(e) => (e.status().unwrap_or(0), e.message()),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// Asserts a refusal with HTTP `status` whose message contains every one of `needles`.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, ClientError>,
    status: u16,
    needles: &[&str],
) {
    let (got, message) = refused(result);
    assert_eq!(got, status, "{message}");
    for needle in needles {
        assert!(message.contains(needle), "{message}");
    }
}
