use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{ClientConfig, Encoding, Method, OrchestratorClient, RawReply};
use kit::auth::Role;
use kit::testing::issuer::issuer;
use kit::testing::{serve, test_http, Served, TestBackend, TestDatabase};
use orchestrator::schedules::{Clock, ManualClock};
use orchestrator::{Background, Config};
use serde_json::{json, Value};
use wire::orchestrator::{Node, SchedulerStatus};

/// The subject of the admin token the test clients call with.
pub const TESTER: &str = "tester";

pub struct TestApp {
    pub client: OrchestratorClient,
    server: Served,
    background: Option<Background>,
    _db: Option<TestDatabase>,
}

/// A configuration for tests: port 0, one worker, this database and task-engine; events and
/// reconciliation as the test says; trusting the test issuer, calling the task-engine as the
/// service identity `orchestrator`.
pub fn test_config(database: &kit::config::DatabaseConfig, task_engine_url: &str) -> Config {
    Config {
        http: test_http(),
        database: database.clone(),
        task_engine: orchestrator::config::TaskEngineConfig {
            url: task_engine_url.to_string(),
            timeout_secs: 10,
        },
        auth: issuer().auth_config(),
        identity: testpeers::service_identity("orchestrator"),
        ..Config::default()
    }
}

/// A clock at Monday 2026-11-23 `hh:mm`.
pub fn at(hh: u32, mm: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .and_then(|d| d.and_hms_opt(hh, mm, 0))
        .expect("a valid test time")
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        TestApp::spawn_with(backend, "").await
    }

    /// The service forwarding task-engine routes to `task_engine_url` (empty = none).
    pub async fn spawn_with(backend: TestBackend, task_engine_url: &str) -> TestApp {
        let db = TestDatabase::create(backend, "oc_it");
        let config = test_config(&db.config, task_engine_url);
        TestApp::start(config, Some(db), Arc::new(ManualClock::new(at(0, 0)))).await
    }

    /// Starts the service with this configuration and scheduler clock; `db` lives as long.
    pub async fn start(config: Config, db: Option<TestDatabase>, clock: Arc<dyn Clock>) -> TestApp {
        let started = orchestrator::start_with_clock(config, clock)
            .await
            .expect("orchestrator starts");
        let server = serve(started.bound);
        let client = OrchestratorClient::new(
            ClientConfig::new(&server.url).with_token(issuer().token(TESTER, &[Role::Admin])),
        )
        .expect("client builds");
        TestApp {
            client,
            server,
            background: Some(started.background),
            _db: db,
        }
    }

    /// The service's base URL.
    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// A client of this orchestrator calling with `token`.
    pub fn client_with(&self, token: String) -> OrchestratorClient {
        OrchestratorClient::new(ClientConfig::new(self.url()).with_token(token))
            .expect("client builds")
    }

    /// Every node of pool `id`.
    pub async fn nodes(&self, id: i64) -> Vec<Node> {
        self.client
            .pool_nodes(id, 1, 1000)
            .await
            .expect("nodes listed")
            .data
    }

    /// Waits (up to 60 s) until the nodes of pool `id` satisfy `done`; returns them.
    pub async fn wait_nodes(
        &self,
        id: i64,
        what: &str,
        done: impl Fn(&[Node]) -> bool,
    ) -> Vec<Node> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let nodes = self.nodes(id).await;
            if done(&nodes) {
                return nodes;
            }
            assert!(
                Instant::now() < deadline,
                "pool {id}: still not {what} after 60 s: {nodes:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn scheduler(&self) -> SchedulerStatus {
        let reply = self
            .call(Method::GET, "/internal/scheduler", json!({}))
            .await;
        serde_json::from_value(reply.body["data"].clone()).expect("a scheduler status")
    }

    /// The data of a successful answer.
    pub async fn ok(&self, path: &str, params: Value) -> Value {
        let reply = self.call(Method::POST, path, params).await;
        assert_eq!(reply.status.as_u16(), 200, "{path}: {}", reply.body);
        assert_eq!(reply.body["code"], 0, "{path}: {}", reply.body);
        reply.body["data"].clone()
    }

    /// A call with no parameters (an empty JSON object).
    pub async fn call_empty(&self, method: Method, path: &str) -> RawReply {
        self.call(method, path, json!({})).await
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

    /// Stops the server and the background loops (a leader gives up its lead).
    pub async fn stop(mut self) {
        if let Some(background) = self.background.take() {
            background.stop();
        }
        self.server.stop().await;
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
