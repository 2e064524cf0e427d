use client::{ClientConfig, Encoding, Method, RawReply, ResourcePoolClient};
use kit::testing::{serve, test_http, Served, TestBackend, TestDatabase};
use resource_pool::Config;
use serde_json::Value;
use wire::resource_pool::ErrorCode;

pub struct TestApp {
    pub client: ResourcePoolClient,
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
            ..Config::default()
        };
        adjust(&mut config);
        let bound = resource_pool::start(config)
            .await
            .expect("resource-pool starts");
        let server = serve(bound);
        let client =
            ResourcePoolClient::new(ClientConfig::new(&server.url)).expect("client builds");
        TestApp {
            client,
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
