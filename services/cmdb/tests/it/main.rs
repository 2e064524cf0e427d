//! cmdb's integration suite: the service in-process on port 0, a real database, spoken to
//! only through `crates/client`. Every scenario runs on SQLite and on MariaDB.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod access;
mod auth;
mod cis;
mod conflicts;
mod control;
mod envelope;
mod faults;
mod files;
mod index;
mod model;
mod openapi;
mod relations;
mod search;
mod veops;
