//! task-engine's integration suite: the service in-process on port 0, a real database,
//! spoken to only through `crates/client`. Every scenario runs on SQLite and on MariaDB.

mod support;

mod bad_input;
mod catalog;
mod tasks;
