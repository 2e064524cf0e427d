//! Fresh databases for integration tests: a temporary SQLite file, or a MariaDB database made
//! for this test and dropped after it. MariaDB is found at `DCP_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306`).

// Test support: a panic is how a broken fixture fails its test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::connection::SimpleConnection;
use diesel::mysql::MysqlConnection;
use diesel::Connection;

use crate::config::DatabaseConfig;

pub mod access;
pub mod drills;
pub mod issuer;
pub mod mariadb;
pub mod sshd;
pub mod zookeeper;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Mysql,
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub config: DatabaseConfig,
    server_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn mysql_server_url() -> String {
    std::env::var("DCP_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_string())
}

impl TestDatabase {
    /// Panics with a clear message if the backend cannot be had: a test without its database is no test.
    pub fn create(backend: TestBackend, prefix: &str) -> TestDatabase {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        match backend {
            TestBackend::Sqlite => {
                let dir =
                    tempfile::tempdir().expect("a temporary folder for the SQLite test database");
                let path = dir.path().join(format!("{name}.db"));
                TestDatabase {
                    config: DatabaseConfig::sqlite(&path.to_string_lossy()),
                    server_url: None,
                    name,
                    _dir: Some(dir),
                }
            }
            TestBackend::Mysql => {
                let server = mysql_server_url();
                let mut conn = MysqlConnection::establish(&server).unwrap_or_else(|e| {
                    panic!("MariaDB for tests at {server}: {e} (set DCP_TEST_MYSQL_URL)")
                });
                conn.batch_execute(&format!(
                    "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ))
                .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
                TestDatabase {
                    config: DatabaseConfig {
                        url: format!("{}/{name}", server.trim_end_matches('/')),
                        pool_size: 8,
                        connect_timeout_secs: 5,
                        create_database: false,
                        request_deadline_ms: 10_000,
                    },
                    server_url: Some(server),
                    name,
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(server) = &self.server_url {
            if let Ok(mut conn) = MysqlConnection::establish(server) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
            }
        }
    }
}

/// Generates `<name>::sqlite` and `<name>::mysql` tests from `async fn name(backend: TestBackend)`,
/// so every integration scenario runs on both backends. The calling crate depends on actix-web.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::testing::TestBackend::Sqlite).await
                }
                #[actix_web::test]
                async fn mysql() {
                    super::$name($crate::testing::TestBackend::Mysql).await
                }
            }
        )*
    };
}

/// A TCP port free on 127.0.0.1 at the time of the call.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("local address").port()
}

/// Kills process `pid` once this (test) process has ended: a shared server kept in a static
/// is never dropped, so a watchdog shell stops it instead.
pub fn stop_when_this_process_ends(pid: u32, what: &str) {
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {pid} 2>/dev/null",
        me = std::process::id()
    );
    let mut watchdog = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("the {what} watchdog does not start: {e}"));
    // Reaped by a thread of its own; the process outlives it by design.
    std::thread::spawn(move || watchdog.wait());
}

/// A service started in-process for a test, served on the current actix runtime; stopped when
/// dropped.
pub struct Served {
    handle: actix_web::dev::ServerHandle,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Served {
    /// Stops serving now (in-flight requests finish first).
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.handle.clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// Serves a service's bound server (what its `start()` returned) on the current actix runtime.
pub fn serve(bound: crate::server::Bound) -> Served {
    serve_at(bound.server, format!("http://{}", bound.addr))
}

/// Serves any bound actix server (a stub peer of a test, say) on the current actix runtime;
/// `url` is how the test reaches it.
pub fn serve_at(server: actix_web::dev::Server, url: String) -> Served {
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Served { handle, url }
}

/// The HTTP settings of a service under test: port 0 on loopback, one worker, a quick stop.
pub fn test_http() -> crate::config::HttpConfig {
    crate::config::HttpConfig {
        bind: "127.0.0.1:0".into(),
        workers: 1,
        shutdown_timeout_secs: 1,
        ..crate::config::HttpConfig::on_port(0)
    }
}

/// The OpenAPI document a service at `base_url` serves at `/openapi.json`, asserted to come
/// with a 200 and to be JSON.
pub async fn openapi_document(base_url: &str) -> serde_json::Value {
    let reply = reqwest::get(format!("{base_url}/openapi.json"))
        .await
        .expect("/openapi.json answers");
    assert_eq!(reply.status().as_u16(), 200);
    let text = reply.text().await.expect("/openapi.json's body");
    serde_json::from_str(&text).expect("JSON")
}
