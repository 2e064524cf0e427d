//! The shared real sshd of `kit::testing::sshd`, mapped into this engine's ssh settings.

use std::path::Path;

pub use kit::testing::sshd::{free_port, shared, Sshd};
use task_engine::config::{HostKeyPolicy, SshConfig};

/// The engine's ssh settings for `server`, with a known-hosts file and a socket folder of the
/// caller's (`dir`), so tests do not share learnt keys or connections.
pub fn ssh_config(server: &Sshd, dir: &Path) -> SshConfig {
    SshConfig {
        user: server.user.clone(),
        key: server.client_key().display().to_string(),
        port: server.port,
        host_key_policy: HostKeyPolicy::AcceptNew,
        known_hosts: server.known_hosts(dir).display().to_string(),
        connect_timeout_secs: 10,
        command_timeout_secs: 60,
        control_dir: dir.display().to_string(),
        control_persist_secs: 5,
        ..SshConfig::default()
    }
}
