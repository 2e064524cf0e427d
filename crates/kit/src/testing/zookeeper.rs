//! A real ZooKeeper for integration tests (Debian's `zookeeper` package and the machine's
//! Java) on a free port with a temp dataDir. Nothing is skipped: if ZooKeeper cannot start,
//! the test fails and says why.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
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

pub use super::free_port;

/// One ZooKeeper for the whole test binary; tests keep apart by using their own chroot. It is
/// stopped when the test process ends.
pub fn shared() -> &'static ZooKeeper {
    static SHARED: OnceLock<ZooKeeper> = OnceLock::new();
    SHARED.get_or_init(|| {
        let zk = ZooKeeper::start();
        if let Some(pid) = zk.pid() {
            super::stop_when_this_process_ends(pid, "ZooKeeper");
        }
        zk
    })
}

/// A chroot no other test uses.
pub fn unique_chroot(prefix: &str) -> String {
    format!("/{prefix}-{}", uuid::Uuid::new_v4().simple())
}
