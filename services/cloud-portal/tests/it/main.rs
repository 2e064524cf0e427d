//! cloud-portal's integration suite: the service in-process on port 0, a real database,
//! spoken to through `crates/client`. Every scenario runs on SQLite and on MariaDB.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod access;
mod admin;
mod api_tokens;
mod grants;
mod lifecycle;
mod removal;
mod seed;
mod service;
mod sessions;
mod tokens;
mod web;
