//! Integration suite of orchestrator: the service in-process on port 0, over its client, on
//! SQLite and on MariaDB; the flows against a real task-engine over a real sshd, the election
//! on a real ZooKeeper.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod audit;
mod bad_input;
mod clusters;
mod engine;
mod faults;
mod flows;
mod flows_input;
mod front_door;
mod nodes;
mod platform;
mod schedules;
mod support;
