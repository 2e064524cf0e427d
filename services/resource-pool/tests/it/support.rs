use actix_web::dev::ServerHandle;
use client::{ClientConfig, Encoding, Method, RawReply, ResourcePoolClient};
use kit::config::HttpConfig;
use kit::testing::{TestBackend, TestDatabase};
use resource_pool::Config;
use serde_json::Value;

pub struct TestApp {
    pub client: ResourcePoolClient,
    handle: ServerHandle,
    _db: TestDatabase,
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: TestBackend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDatabase::create(backend, "rp_it");
        let mut config = Config {
            http: HttpConfig {
                bind: "127.0.0.1:0".into(),
                workers: 1,
                shutdown_timeout_secs: 1,
                ..HttpConfig::on_port(0)
            },
            database: db.config.clone(),
            ..Config::default()
        };
        adjust(&mut config);
        let bound = resource_pool::start(config)
            .await
            .expect("resource-pool starts");
        let handle = bound.server.handle();
        actix_web::rt::spawn(bound.server);
        let client = ResourcePoolClient::new(ClientConfig::new(&format!("http://{}", bound.addr)))
            .expect("client builds");
        TestApp {
            client,
            handle,
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

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; the workers wind down on their own threads.
        drop(self.handle.stop(false));
    }
}

/// The envelope's code and message of a raw reply.
pub fn code_and_msg(reply: &RawReply) -> (i64, String) {
    (
        reply.body["code"].as_i64().unwrap_or(-1),
        reply.body["msg"].as_str().unwrap_or_default().to_string(),
    )
}
