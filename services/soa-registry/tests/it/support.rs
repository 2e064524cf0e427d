//! The harness: a real ZooKeeper (`kit::testing::zookeeper`) and the service in-process with
//! zkidcs on it or embedded. Nothing is skipped: if ZooKeeper cannot start, the test fails and
//! says why.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{ClientConfig, Encoding, Method, RawReply, SoaRegistryClient};
use kit::auth::Role;
use kit::testing::issuer::issuer;
use kit::testing::{serve, test_http, Served};
use soa_registry::config::{ApiKey, Config, StoreConfig, EMBEDDED};
use soa_registry::store::zookeeper::ZkOptions;
use soa_registry::store::{EmbeddedStore, Store, ZkStore};

// The real ZooKeeper harness lives in the kit, shared with the orchestrator's election tests.
pub use kit::testing::zookeeper::{free_port, shared, unique_chroot, ZooKeeper};

/// Valid for every zkidc.
pub const KEY: &str = "it-global-key";
pub const OWNER: &str = "it-tester";
/// Valid for `qa` only.
pub const QA_KEY: &str = "it-qa-key";
pub const QA_OWNER: &str = "qa-team";
/// A peer service's subject, configured for `qa` only (`service_zkidcs`).
pub const QA_SERVICE: &str = "it-qa-service";

pub fn zk_options() -> ZkOptions {
    ZkOptions {
        session_timeout: Duration::from_secs(4),
        op_timeout: Duration::from_millis(1500),
        reconnect_delay: Duration::from_millis(200),
    }
}

/// A store for the contract suite, and what must live as long as it.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

pub fn embedded_store() -> TestStore {
    let dir = tempfile::tempdir().expect("a temp folder");
    let store = EmbeddedStore::open(&dir.path().join("store.json")).expect("embedded store opens");
    TestStore {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

pub async fn zookeeper_store() -> TestStore {
    let connect = shared().connect(&unique_chroot("contract"));
    let store = ZkStore::start(&connect, zk_options())
        .await
        .expect("ZooKeeper store starts");
    // The first sessions of a just-started JVM can be slow; the store retries by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = store.ready().await {
        assert!(
            Instant::now() < deadline,
            "the ZooKeeper store never got ready: {e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    TestStore {
        store: Arc::new(store),
        _dir: None,
    }
}

/// Which store the service under test uses for its zkidcs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    ZooKeeper,
}

/// Generates `<name>::embedded` and `<name>::zookeeper` from `async fn name(backend)`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn embedded() {
                    super::$name($crate::support::Backend::Embedded).await
                }
                #[actix_web::test]
                async fn zookeeper() {
                    super::$name($crate::support::Backend::ZooKeeper).await
                }
            }
        )*
    };
}

/// zkidcs `qa` and `yz`: two chroots of the shared ZooKeeper, or two embedded stores.
pub fn zkidcs(backend: Backend) -> BTreeMap<String, String> {
    match backend {
        Backend::Embedded => [("qa", EMBEDDED.to_string()), ("yz", EMBEDDED.to_string())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        Backend::ZooKeeper => {
            let root = unique_chroot("it");
            let zk = shared();
            [
                ("qa", zk.connect(&format!("{root}/qa"))),
                ("yz", zk.connect(&format!("{root}/yz"))),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
        }
    }
}

pub struct TestApp {
    /// Key [`KEY`], zkidc `qa`, no token: the seed's way.
    pub client: SoaRegistryClient,
    pub url: String,
    _server: Served,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// zkidcs `qa` and `yz`: two chroots of the shared ZooKeeper, or two embedded stores.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(zkidcs(backend), |_| {}).await
    }

    /// Starts the service and waits until it is ready.
    pub async fn spawn_with(
        zkidcs: BTreeMap<String, String>,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let app = Self::spawn_unready(zkidcs, adjust).await;
        app.wait_ready().await;
        app
    }

    /// Starts the service without waiting for its stores (ZooKeeper may be down).
    pub async fn spawn_unready(
        zkidcs: BTreeMap<String, String>,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("a temp folder");
        let options = zk_options();
        let mut config = Config {
            http: test_http(),
            store: StoreConfig {
                data_dir: dir.path().join("var").display().to_string(),
                session_timeout_ms: options.session_timeout.as_millis() as u64,
                op_timeout_ms: options.op_timeout.as_millis() as u64,
                reconnect_delay_ms: options.reconnect_delay.as_millis() as u64,
            },
            zkidcs,
            keys: vec![
                ApiKey {
                    key: KEY.into(),
                    owner: OWNER.into(),
                    zkidcs: Vec::new(),
                },
                ApiKey {
                    key: QA_KEY.into(),
                    owner: QA_OWNER.into(),
                    zkidcs: vec!["qa".into()],
                },
            ],
            service_zkidcs: [(QA_SERVICE.to_string(), vec!["qa".to_string()])]
                .into_iter()
                .collect(),
            auth: issuer().auth_config(),
            ..Config::default()
        };
        adjust(&mut config);
        kit::config::Validate::validate(&config).expect("the test configuration is valid");
        let bound = soa_registry::start(config)
            .await
            .expect("soa-registry starts");
        let server = serve(bound);
        let client = SoaRegistryClient::new(ClientConfig::new(&server.url), KEY, "qa")
            .expect("client builds");
        TestApp {
            client,
            url: server.url.clone(),
            _server: server,
            _dir: dir,
        }
    }

    /// A client on zkidc `qa` with a bearer token of `subject` holding `roles`, and no key.
    pub fn token_client(&self, subject: &str, roles: &[Role]) -> SoaRegistryClient {
        let config = ClientConfig::new(&self.url).with_token(issuer().token(subject, roles));
        SoaRegistryClient::new(config, "", "qa").expect("client builds")
    }

    /// Waits until `/readyz` says every zkidc's store answers (at most 30 s).
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self
                .client
                .transport()
                .get_text("/readyz")
                .await
                .expect("/readyz answers");
            if status.as_u16() == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "soa-registry not ready within 30 s: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls `path` with exactly these parameters.
    pub async fn raw(
        &self,
        path: &str,
        method: Method,
        encoding: Encoding,
        params: &[(&str, &str)],
    ) -> RawReply {
        self.client
            .call_raw(path, method, encoding, params)
            .await
            .expect("the service answers")
    }

    /// As the seed says: reads with GET and the query string, writes with POST and a form.
    pub async fn call(&self, path: &str, params: &[(&str, &str)]) -> RawReply {
        let route = path.trim_matches('/');
        if route.starts_with("servicelist") || route == "serverlist" {
            self.raw(path, Method::GET, Encoding::Query, params).await
        } else {
            self.raw(path, Method::POST, Encoding::Form, params).await
        }
    }
}

/// The parameters of a call on zkidc `qa` with the global key, then `extra`.
pub fn on_qa<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("key", KEY), ("zkidc", "qa")];
    all.extend_from_slice(extra);
    all
}

/// The envelope's code and reason of a raw reply.
pub fn code_and_reason(reply: &RawReply) -> (i64, String) {
    (
        reply.body["code"].as_i64().unwrap_or(-1),
        reply.body["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Asserts a failure: HTTP `status`, `{"code":0,"reason":...}` with `reason` containing `needle`.
#[track_caller]
pub fn assert_failure(reply: &RawReply, status: u16, needle: &str) {
    let (code, reason) = code_and_reason(reply);
    assert_eq!(code, 0, "expected a failure, got {}", reply.body);
    assert!(
        reason.contains(needle),
        "reason `{reason}` should contain `{needle}`"
    );
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    let keys: Vec<&String> = reply
        .body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["code", "reason"],
        "the failure envelope is exactly code and reason"
    );
}

/// A direct ZooKeeper client (not the service's), rooted at `connect`'s chroot.
pub async fn direct_client(connect: &str) -> zookeeper_client::Client {
    zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(connect)
        .await
        .unwrap_or_else(|e| panic!("a direct ZooKeeper client connects to {connect}: {e}"))
}
