use actix_web::dev::ServerHandle;
use client::{ClientConfig, Encoding, Method, OrchestratorClient, RawReply};
use kit::config::HttpConfig;
use kit::testing::{TestBackend, TestDatabase};
use orchestrator::Config;
use serde_json::{json, Value};

pub struct TestApp {
    pub client: OrchestratorClient,
    handle: ServerHandle,
    _db: TestDatabase,
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        TestApp::spawn_with(backend, "").await
    }

    /// The service forwarding task-engine routes to `task_engine_url` (empty = none).
    pub async fn spawn_with(backend: TestBackend, task_engine_url: &str) -> TestApp {
        let db = TestDatabase::create(backend, "oc_it");
        let config = Config {
            http: HttpConfig {
                bind: "127.0.0.1:0".into(),
                workers: 1,
                shutdown_timeout_secs: 1,
            },
            database: db.config.clone(),
            task_engine: orchestrator::config::TaskEngineConfig {
                url: task_engine_url.to_string(),
                timeout_secs: 10,
            },
            ..Config::default()
        };
        let bound = orchestrator::start(config)
            .await
            .expect("orchestrator starts");
        let handle = bound.server.handle();
        actix_web::rt::spawn(bound.server);
        let client = OrchestratorClient::new(ClientConfig::new(&format!("http://{}", bound.addr)))
            .expect("client builds");
        TestApp {
            client,
            handle,
            _db: db,
        }
    }

    pub async fn call(&self, method: Method, path: &str, params: Value) -> RawReply {
        self.client
            .call_raw(method, path, Encoding::Json, &params)
            .await
            .expect("an answer")
    }

    /// A cluster, a service in it and a pool in that: their ids.
    pub async fn tree(&self) -> (i64, i64, i64) {
        let cluster = self
            .client
            .create_cluster("c", "a cluster", "1")
            .await
            .expect("cluster");
        let service = self
            .client
            .create_service(&json!({
                "name": "web_service", "desc": "web", "service_type": "Java",
                "docker_image": "myregistry/myweb:1.0", "cluster_id": cluster
            }))
            .await
            .expect("service");
        let pool = self
            .client
            .create_pool(&json!({
                "name": "web_pool", "desc": "web pool", "vm_type": 1, "sd_id": 1,
                "service_id": service
            }))
            .await
            .expect("pool");
        (cluster, service, pool)
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// An error answer in the seed's envelope: HTTP `status`, the same `code`, a `msg`.
pub fn assert_error(reply: &RawReply, status: u16, msg_has: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(
        reply.body["code"].as_i64(),
        Some(i64::from(status)),
        "{}",
        reply.body
    );
    let msg = reply.body["msg"].as_str().unwrap_or_default();
    assert!(msg.contains(msg_has), "`{msg}` should mention `{msg_has}`");
}
