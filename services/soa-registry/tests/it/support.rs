//! The harness: a real ZooKeeper (Debian's `zookeeper` package and the machine's Java) on a
//! free port with a temp dataDir, and the service in-process with zkidcs on it or embedded.
//! Nothing is skipped: if ZooKeeper cannot start, the test fails and says why.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use client::{ClientConfig, Encoding, Method, RawReply, SoaRegistryClient};
use kit::config::HttpConfig;
use soa_registry::config::{ApiKey, Config, StoreConfig, EMBEDDED};
use soa_registry::store::zookeeper::ZkOptions;
use soa_registry::store::{EmbeddedStore, Store, ZkStore};

pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// Valid for every zkidc.
pub const KEY: &str = "it-global-key";
pub const OWNER: &str = "it-tester";
/// Valid for `qa` only.
pub const QA_KEY: &str = "it-qa-key";

/// One ZooKeeper server process owned by a test (or by the whole binary, see [`shared`]).
pub struct ZooKeeper {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl ZooKeeper {
    /// Starts a standalone server and waits until it answers `ruok` with `imok`.
    pub fn start() -> ZooKeeper {
        assert!(
            Path::new(ZOOKEEPER_JAR).exists(),
            "ZooKeeper is not installed ({ZOOKEEPER_JAR} is missing): apt-get install zookeeper"
        );
        let dir = tempfile::tempdir().expect("a temp folder for ZooKeeper");
        let port = free_port();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("ZooKeeper dataDir");
        // tickTime 500 ms allows sessions from 1 s, so session tests stay short.
        let cfg = format!(
            "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\nmaxClientCnxns=0\n",
            data.display()
        );
        std::fs::write(dir.path().join("zoo.cfg"), cfg).expect("zoo.cfg");
        let mut zk = ZooKeeper {
            port,
            dir,
            child: None,
        };
        zk.launch();
        zk
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("zookeeper.log")
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("ZooKeeper log file");
        let log_err = log.try_clone().expect("ZooKeeper log file");
        let child = Command::new("java")
            .args([
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                ZOOKEEPER_JAR,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
            ])
            .arg(self.dir.path().join("zoo.cfg"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run java for ZooKeeper: {e}"));
        self.child = Some(child);
        self.wait_until_ok();
    }

    fn wait_until_ok(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            // `imok` only says the port is open; `srvr` says when sessions are served.
            if ruok(self.port) && four_letters(self.port, "srvr").contains("Mode:") {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "ZooKeeper exited ({status}) before answering; its log:\n{}",
                        self.log_tail()
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "ZooKeeper on port {} did not answer `ruok` within 60 s; its log:\n{}",
            self.port,
            self.log_tail()
        );
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server (as an outage would) and waits until its port is closed.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts it again on the same port and dataDir.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Stops it, throws its data away, and starts it empty: every session is gone (expired).
    pub fn restart_empty(&mut self) {
        self.stop();
        let data = self.dir.path().join("data");
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).expect("ZooKeeper dataDir");
        self.launch();
    }

    /// `127.0.0.1:PORT/chroot` (chroot starts with `/`, or is empty).
    pub fn connect(&self, chroot: &str) -> String {
        format!("127.0.0.1:{}{chroot}", self.port)
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `ruok` -> `imok` over a plain TCP socket.
pub fn ruok(port: u16) -> bool {
    four_letters(port, "ruok") == "imok"
}

/// Sends a four-letter command and returns the answer ("" if there is none).
fn four_letters(port: u16, command: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(command.as_bytes()).is_err() {
        return String::new();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("local address").port()
}

/// One ZooKeeper for the whole test binary; tests keep apart by using their own chroot.
/// Statics are never dropped, so a watchdog shell kills the server when this process ends.
pub fn shared() -> &'static ZooKeeper {
    static SHARED: OnceLock<ZooKeeper> = OnceLock::new();
    SHARED.get_or_init(|| {
        let zk = ZooKeeper::start();
        if let Some(pid) = zk.pid() {
            let script = format!(
                "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {pid} 2>/dev/null",
                me = std::process::id()
            );
            let mut watchdog = Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the ZooKeeper watchdog starts");
            // Reaped by a thread of its own; the process outlives it by design.
            std::thread::spawn(move || watchdog.wait());
        }
        zk
    })
}

/// A chroot no other test uses.
pub fn unique_chroot(prefix: &str) -> String {
    format!("/{prefix}-{}", uuid::Uuid::new_v4().simple())
}

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
    /// Key [`KEY`], zkidc `qa`.
    pub client: SoaRegistryClient,
    handle: ServerHandle,
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
            http: HttpConfig {
                bind: "127.0.0.1:0".into(),
                workers: 1,
                shutdown_timeout_secs: 1,
            },
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
                    owner: "qa-team".into(),
                    zkidcs: vec!["qa".into()],
                },
            ],
            ..Config::default()
        };
        adjust(&mut config);
        kit::config::Validate::validate(&config).expect("the test configuration is valid");
        let bound = soa_registry::start(config)
            .await
            .expect("soa-registry starts");
        let handle = bound.server.handle();
        actix_web::rt::spawn(bound.server);
        let base_url = format!("http://{}", bound.addr);
        let client =
            SoaRegistryClient::new(ClientConfig::new(&base_url), KEY, "qa").expect("client builds");
        TestApp {
            client,
            handle,
            _dir: dir,
        }
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

    /// GET with the query string, as the seed's examples do for every route.
    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> RawReply {
        self.raw(path, Method::GET, Encoding::Query, params).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
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
