//! A real OpenSSH server (Debian's `openssh-server`) for a whole test binary: generated host
//! and client ed25519 keys in a 0700 temp dir, a free port, `ListenAddress 0.0.0.0` so that
//! 127.0.0.2, 127.0.0.3, ... all reach it as distinct "hosts" (inside a session
//! `$SSH_CONNECTION` ends with the address dialled). Nothing is skipped: if sshd cannot
//! start, the test fails and says why.
//!
//! This module knows nothing of any service: it exposes the port, the user, the client key
//! and a known-hosts path; each service's tests map them into their own ssh settings.

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    /// The port sshd listens on, on every loopback address.
    pub port: u16,
    /// The user the tests log in as: the user running the test binary.
    pub user: String,
    dir: tempfile::TempDir,
    child: Child,
}

impl Sshd {
    /// Starts a server of its own (most tests want [`shared`]). It stops when dropped.
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "OpenSSH server is not installed ({SSHD} is missing): apt-get install openssh-server"
        );
        let dir = tempfile::tempdir().expect("a temp folder for sshd");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod 0700 the sshd folder");
        let path = dir.path();
        keygen(&path.join("host_key"));
        keygen(&path.join("client_key"));
        std::fs::create_dir_all("/run/sshd").expect("mkdir -p /run/sshd (privilege separation)");
        let port = free_port();
        let cfg = format!(
            "Port {port}\nListenAddress 0.0.0.0\nHostKey {dir}/host_key\n\
             AuthorizedKeysFile {dir}/client_key.pub\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             PermitRootLogin prohibit-password\nPidFile {dir}/sshd.pid\n\
             MaxStartups 1000\nMaxSessions 200\nLogLevel ERROR\n",
            dir = path.display()
        );
        std::fs::write(path.join("sshd_config"), cfg).expect("sshd_config");
        let log = std::fs::File::create(path.join("sshd.log")).expect("sshd.log");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(path.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("sshd.log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{SSHD} does not start: {e}"));
        let user = String::from_utf8(
            Command::new("id")
                .arg("-un")
                .output()
                .expect("id -un")
                .stdout,
        )
        .expect("a user name")
        .trim()
        .to_string();
        let mut sshd = Sshd {
            port,
            user,
            dir,
            child,
        };
        sshd.wait_until_listening();
        sshd
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "sshd exited ({status}) before listening on {}:\n{}",
                    self.port,
                    self.log()
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sshd does not listen on {} after 20 s:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What sshd wrote (errors only), for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The private key the server accepts (its public half is the authorized key).
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// The server's public host key (`ssh-ed25519 AAAA... comment`).
    pub fn host_public_key(&self) -> PathBuf {
        self.dir.path().join("host_key.pub")
    }

    /// A known-hosts path inside `dir` (not created): give each client its own, so tests
    /// do not share learnt keys.
    pub fn known_hosts(&self, dir: &Path) -> PathBuf {
        dir.join("known_hosts")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "dcp-test", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "ssh-keygen {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub use super::free_port;

/// One sshd for the whole test binary, stopped when the test process ends.
pub fn shared() -> &'static Sshd {
    static SHARED: OnceLock<Sshd> = OnceLock::new();
    SHARED.get_or_init(|| {
        let sshd = Sshd::start();
        super::stop_when_this_process_ends(sshd.child.id(), "sshd");
        sshd
    })
}
