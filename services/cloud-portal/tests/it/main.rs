//! cloud-portal's integration suite: the service in-process on port 0, a real database,
//! spoken to through `crates/client`. Every scenario runs on SQLite and on MariaDB.

mod support;

mod admin;
mod lifecycle;
mod removal;
mod seed;
mod service;
mod sessions;
mod web;
