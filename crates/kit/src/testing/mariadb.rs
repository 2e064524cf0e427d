//! A private MariaDB for fault drills: its own data directory and free port, killed, restarted,
//! frozen and thawed by the test (the shared MariaDB of the other suites must never be).
//!
//! Started as works on these machines: `mariadb-install-db --no-defaults` into the server's
//! own temp folder, then `mariadbd --no-defaults` with `--skip-grant-tables` (root without a
//! password, on loopback only).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::mysql::MysqlConnection;
use diesel::Connection;

pub const MARIADBD: &str = "/usr/sbin/mariadbd";
pub const INSTALL_DB: &str = "/usr/bin/mariadb-install-db";

/// One MariaDB server process owned by a test.
pub struct PrivateMariaDb {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    frozen: bool,
}

impl PrivateMariaDb {
    /// Starts a server with an empty data directory and waits until it answers.
    pub fn start() -> PrivateMariaDb {
        let dir = tempfile::tempdir().expect("a temp folder for MariaDB");
        let data = dir.path().join("data");
        install(&data);
        let mut server = PrivateMariaDb {
            port: super::free_port(),
            dir,
            child: None,
            frozen: false,
        };
        server.launch();
        server
    }

    /// `mysql://root@127.0.0.1:PORT/DATABASE`.
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }

    /// A [`crate::config::DatabaseConfig`] for `database` on this server (created on open).
    pub fn config(&self, database: &str) -> crate::config::DatabaseConfig {
        crate::config::DatabaseConfig {
            url: self.url(database),
            pool_size: 4,
            connect_timeout_secs: 5,
            create_database: true,
            request_deadline_ms: 10_000,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mariadb.log")
    }

    /// Starts (again) on the same port and data directory and waits until it answers.
    pub fn launch(&mut self) {
        assert!(self.child.is_none(), "MariaDB is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("MariaDB log file");
        let log_err = log.try_clone().expect("MariaDB log file");
        let data = self.dir.path().join("data");
        let child = Command::new(MARIADBD)
            .arg("--no-defaults")
            .arg("--user=root")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={}", self.port))
            .arg(format!(
                "--socket={}",
                self.dir.path().join("mariadb.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.dir.path().join("mariadb.pid").display()
            ))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--max-connections=200",
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {MARIADBD}: {e}"));
        super::stop_when_this_process_ends(child.id(), "MariaDB");
        self.child = Some(child);
        self.wait_until_answers(Duration::from_secs(60));
    }

    /// Waits until `SELECT 1` answers on a fresh connection; panics with the log if it does not.
    pub fn wait_until_answers(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.answers() {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "MariaDB exited ({status}) before answering; its log:\n{}",
                        self.log_tail()
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "MariaDB on port {} did not answer within {limit:?}; its log:\n{}",
            self.port,
            self.log_tail()
        );
    }

    /// Whether a fresh connection answers `SELECT 1` now.
    pub fn answers(&self) -> bool {
        MysqlConnection::establish(&format!("mysql://root@127.0.0.1:{}/", self.port))
            .and_then(|mut c| {
                c.batch_execute("SELECT 1")
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
            })
            .is_ok()
    }

    /// A connection of the test's own to `database`, to check what was stored.
    pub fn connect(&self, database: &str) -> MysqlConnection {
        MysqlConnection::establish(&self.url(database))
            .unwrap_or_else(|e| panic!("connecting to the private MariaDB: {e}"))
    }

    /// SIGKILL, as a crash would, and waits until the port is closed.
    pub fn kill(&mut self) {
        if self.frozen {
            self.thaw();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGSTOP: the server keeps its port and connections but answers nothing.
    pub fn freeze(&mut self) {
        self.signal("STOP");
        self.frozen = true;
    }

    /// SIGCONT after [`PrivateMariaDb::freeze`].
    pub fn thaw(&mut self) {
        self.signal("CONT");
        self.frozen = false;
    }

    fn signal(&self, name: &str) {
        let pid = self.pid().expect("MariaDB is running");
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .unwrap_or_else(|e| panic!("kill -{name}: {e}"));
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `mariadb-install-db` into `data` (a second or two).
fn install(data: &Path) {
    assert!(
        Path::new(MARIADBD).exists() && Path::new(INSTALL_DB).exists(),
        "MariaDB's server is not installed ({MARIADBD}, {INSTALL_DB}): apt-get install mariadb-server"
    );
    // One at a time: installs beside a loaded test run are slow enough as they are.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let output = Command::new(INSTALL_DB)
        .arg("--no-defaults")
        .arg("--user=root")
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {INSTALL_DB}: {e}"));
    assert!(
        output.status.success(),
        "{INSTALL_DB} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}
