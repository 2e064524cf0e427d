//! task-engine's integration suite: the service in-process on port 0, a real database,
//! spoken to only through `crates/client`, and a real sshd (see `sshd.rs`) whose loopback
//! addresses 127.0.0.x are the nodes. Every service scenario runs on SQLite and on MariaDB.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sshd;
mod support;

mod access;
mod bad_input;
mod catalog;
mod faults;
mod injection;
mod platform;
mod recovery;
mod run;
mod ssh_exec;
mod tasks;
