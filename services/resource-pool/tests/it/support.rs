use client::{ClientConfig, Encoding, Method, RawReply, ResourcePoolClient};
use kit::auth::Role;
use kit::testing::issuer::issuer;
use kit::testing::{serve, test_http, Served, TestBackend, TestDatabase};

/// The subject of the token the tests' client sends: an operator.
pub const TESTER: &str = "tester@dcp.test";
use resource_pool::Config;
use serde_json::Value;
use wire::resource_pool::ErrorCode;

pub struct TestApp {
    pub client: ResourcePoolClient,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The operator token the client sends, for hand-made requests.
    pub token: String,
    _server: Served,
    _db: TestDatabase,
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: TestBackend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDatabase::create(backend, "rp_it");
        let mut config = Config {
            http: test_http(),
            database: db.config.clone(),
            auth: issuer().auth_config(),
            ..Config::default()
        };
        adjust(&mut config);
        let bound = resource_pool::start(config)
            .await
            .expect("resource-pool starts");
        let server = serve(bound);
        let token = issuer().token(TESTER, &[Role::Operator]);
        let client =
            ResourcePoolClient::new(ClientConfig::new(&server.url).with_token(token.clone()))
                .expect("client builds");
        TestApp {
            client,
            url: server.url.clone(),
            token,
            _server: server,
            _db: db,
        }
    }

    /// Calls a function with raw parameters (a query string, JSON or a form): reads with GET
    /// for a query string, everything else with POST (writes answer POST alone).
    pub async fn raw(&self, function: &str, encoding: Encoding, params: Value) -> RawReply {
        let reads =
            function.starts_with("get_") || function == "audit_log" || function == "probe_instance";
        let method = match encoding {
            Encoding::Query if reads => Method::GET,
            _ => Method::POST,
        };
        self.client
            .call_raw(function, method, encoding, &params)
            .await
            .expect("the service answers")
    }
}

/// The envelope's code and message of a raw reply.
/// `code` as an API error's code (`ClientError::code`) says it.
pub fn code(code: ErrorCode) -> Option<i64> {
    Some(code as i64)
}

pub fn code_and_msg(reply: &RawReply) -> (i64, String) {
    (
        reply.body["code"].as_i64().unwrap_or(-1),
        reply.body["msg"].as_str().unwrap_or_default().to_string(),
    )
}
