use client::{ClientConfig, ClientError, CloudPortalClient, Encoding, RawReply};
use cloud_portal::config::{LoginConfig, PasswordHashConfig};
use cloud_portal::Config;
use kit::config::HttpConfig;
use kit::testing::{serve, test_http, Served, TestBackend, TestDatabase};
use serde_json::Value;
use wire::cloud_portal::User;

pub const ADMIN: &str = "root-admin";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The password of `bob`, the plain user [`TestApp::add_bob`] adds.
pub const BOB_PASSWORD: &str = "bobs-password";

pub struct TestApp {
    /// No session.
    pub client: CloudPortalClient,
    /// Logged in as the configured admin.
    pub admin: CloudPortalClient,
    pub base_url: String,
    pub backend: TestBackend,
    pub config: Config,
    _server: Served,
    pub db: TestDatabase,
}

/// The test configuration: no demo data, cheap password hashes, a short login throttle.
pub fn test_config(db: &TestDatabase) -> Config {
    let mut config = Config {
        http: HttpConfig {
            workers: 2,
            ..test_http()
        },
        database: db.config.clone(),
        ..Config::default()
    };
    config.demo.enabled = false;
    config.admin.username = ADMIN.into();
    config.admin.password = ADMIN_PASSWORD.into();
    config.password_hash = PasswordHashConfig {
        memory_kib: 64,
        iterations: 1,
    };
    config.login = LoginConfig {
        failure_delay_ms: 300,
        max_delay_secs: 2,
    };
    config
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: TestBackend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDatabase::create(backend, "cp_it");
        let mut config = test_config(&db);
        adjust(&mut config);
        Self::spawn_on(backend, db, config).await
    }

    /// Starts a service on `db` (which may already hold data).
    pub async fn spawn_on(backend: TestBackend, db: TestDatabase, config: Config) -> TestApp {
        let bound = cloud_portal::start(config.clone())
            .await
            .expect("cloud-portal starts");
        let server = serve(bound);
        let base_url = server.url.clone();
        let client = CloudPortalClient::new(ClientConfig::new(&base_url)).expect("client builds");
        let key = client
            .login(
                &config.admin.username,
                config.admin.password.expose_secret(),
            )
            .await
            .expect("the configured admin logs in");
        TestApp {
            admin: client.with_session(&key),
            client,
            base_url,
            backend,
            config,
            _server: server,
            db,
        }
    }

    /// An access token of the embedded issuer for `username`, by the password grant.
    pub async fn bearer(&self, username: &str, password: &str) -> String {
        let token_url = format!("{}/oauth/token", self.base_url);
        client::credentials::password_grant(&token_url, username, password)
            .await
            .expect("a token by the password grant")
            .access_token
    }

    /// A new user with `role`, logged in.
    pub async fn user_with_role(&self, name: &str, role: &str) -> CloudPortalClient {
        self.admin
            .add_user(name, "password-of-test-user", role)
            .await
            .expect("admin adds a user");
        let key = self
            .client
            .login(name, "password-of-test-user")
            .await
            .expect("the new user logs in");
        self.client.with_session(&key)
    }

    /// Adds `bob`, a plain user with password [`BOB_PASSWORD`], as the admin.
    pub async fn add_bob(&self) -> User {
        self.admin
            .add_user("bob", BOB_PASSWORD, "user")
            .await
            .expect("user")
    }

    pub async fn user(&self, name: &str) -> CloudPortalClient {
        self.user_with_role(name, "user").await
    }

    /// An image and `hosts` hosts of `capacity` slots on 10.9.0.x; returns the image id.
    pub async fn image_and_hosts(&self, hosts: u32, capacity: u32) -> i64 {
        for n in 1..=hosts {
            self.admin
                .add_host(&format!("10.9.0.{n}"), 22, capacity)
                .await
                .expect("admin adds a host");
        }
        self.admin
            .add_image("ubuntu-22.04", Some("test image"))
            .await
            .expect("admin adds an image")
            .id
    }

    /// POSTs raw parameters as a form.
    pub async fn form(&self, path: &str, params: Value) -> RawReply {
        self.client
            .call_raw(path, Encoding::Form, &params)
            .await
            .expect("the service answers")
    }

    pub async fn raw(&self, path: &str, encoding: Encoding, params: Value) -> RawReply {
        self.client
            .call_raw(path, encoding, &params)
            .await
            .expect("the service answers")
    }
}

/// The envelope's code and desc of a raw reply.
pub fn code_and_desc(reply: &RawReply) -> (i64, String) {
    (
        reply.body["code"].as_i64().unwrap_or(-1),
        reply.body["desc"].as_str().unwrap_or_default().to_string(),
    )
}

/// The code and desc of a client error (panics if the service did not answer).
pub fn api_error<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (i64, String) {
    match result {
        Err(ClientError::Api { code, message, .. }) => (code, message),
        other => panic!("expected an answer with a non-zero code, got {other:?}"),
    }
}

/// The status of instance `id` as `client` queries it.
pub async fn status_of(client: &CloudPortalClient, id: i64) -> i32 {
    client.query_instance(id).await.expect("query").status
}

pub fn session_of(client: &CloudPortalClient) -> String {
    client
        .session_key()
        .expect("a logged-in client")
        .to_string()
}
