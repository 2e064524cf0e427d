//! The queries of cmdb, written once for SQLite and MySQL over `kit::db::DbConn`, one file
//! per table family. Functions here run inside `Db::read` / `Db::write`, on the blocking pool.
//!
//! Single-row lookups use `get_result` (with `.optional()`), not `first`: `first` binds
//! `LIMIT ?`, which the multi-backend connection mishandles on SQLite (see resource-pool).

mod attributes;
mod changes;
mod cis;
mod history;
mod relations;
pub mod schema;
mod types;
mod users;
mod values;

use chrono::NaiveDateTime;

pub use attributes::*;
pub use changes::*;
pub use cis::*;
pub use history::*;
pub use relations::*;
pub use types::*;
pub use users::*;
pub use values::*;

pub fn to_seconds(at: &NaiveDateTime) -> i64 {
    at.and_utc().timestamp()
}

pub fn from_seconds(seconds: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// Bound on the ids in one `IN (...)`, well under every backend's limit on bound parameters.
const IN_CHUNK: usize = 500;
/// Above this many ids, reading a whole column and filtering in memory beats chunked `IN`s.
const SCAN_THRESHOLD: usize = 5_000;
