//! A real OpenSSH server (Debian's `openssh-server`) for the whole test binary: generated host
//! and client keys in a 0700 temp dir, a free port, `ListenAddress 0.0.0.0` so that 127.0.0.2,
//! 127.0.0.3, ... all reach it as distinct "hosts". Nothing is skipped: if sshd cannot start,
//! the test fails and says why.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use task_engine::config::SshConfig;

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub port: u16,
    pub user: String,
    dir: tempfile::TempDir,
    child: Child,
}

impl Sshd {
    fn start() -> Sshd {
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
             MaxStartups 200\nMaxSessions 200\nLogLevel ERROR\n",
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// The engine's ssh settings for this server, with a known-hosts file and a socket
    /// folder of the caller's (`dir`), so tests do not share learnt keys or connections.
    pub fn ssh_config(&self, dir: &Path) -> SshConfig {
        SshConfig {
            user: self.user.clone(),
            key: self.client_key().display().to_string(),
            port: self.port,
            host_key_policy: "accept-new".into(),
            known_hosts: dir.join("known_hosts").display().to_string(),
            connect_timeout_secs: 10,
            command_timeout_secs: 60,
            control_dir: dir.display().to_string(),
            control_persist_secs: 5,
            ..SshConfig::default()
        }
    }
}

fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "task-engine-it",
            "-f",
        ])
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

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("local address").port()
}

/// One sshd for the whole test binary. Statics are never dropped, so a watchdog shell kills
/// the server when this process ends.
pub fn shared() -> &'static Sshd {
    static SHARED: OnceLock<Sshd> = OnceLock::new();
    SHARED.get_or_init(|| {
        let sshd = Sshd::start();
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {pid} 2>/dev/null",
            me = std::process::id(),
            pid = sshd.child.id()
        );
        let mut watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the sshd watchdog starts");
        // Reaped by a thread of its own; the process outlives it by design.
        std::thread::spawn(move || watchdog.wait());
        sshd
    })
}
