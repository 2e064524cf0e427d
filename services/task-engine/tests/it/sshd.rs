//! The shared real sshd of `kit::testing::sshd`, mapped into this engine's ssh settings.

pub use kit::testing::sshd::{free_port, shared};
/// The engine's ssh settings for a server, with a known-hosts file and a socket folder of the
/// caller's, so tests do not share learnt keys or connections.
pub use testpeers::task_engine_ssh as ssh_config;
