//! soa-registry's integration suite: a real ZooKeeper started by the harness (support.rs), the
//! embedded store in temp folders, the service in-process on port 0 spoken to only through
//! `crates/client` (the store contract talks to the stores directly).

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod access;
mod beyond;
mod contract;
mod faults;
mod outage;
mod routes;
mod zookeeper;
