//! The queries of cmdb, written once for SQLite and MySQL over `kit::db::DbConn`, one file
//! per table family. Functions here run inside `Db::read` / `Db::write`, on the blocking pool.
//!
//! Single-row lookups use `get_result` (with `.optional()`), not `first`: `first` binds
//! `LIMIT ?`, which the multi-backend connection mishandles on SQLite (see resource-pool).

/// Runs `$body` with `$c` the backend's own connection: what the multi-backend connection
/// cannot run (multi-row INSERTs) is written once and compiled for each.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            kit::db::DbConn::Sqlite($c) => $body,
            kit::db::DbConn::Mysql($c) => $body,
        }
    };
}

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
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use kit::db::{last_insert_id, DbConn};

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

/// Rows per multi-row INSERT: at seven columns well under SQLite's 32,766 bound parameters
/// and MySQL's 65,535.
const INSERT_CHUNK: usize = 1000;

/// How the database numbers the rows of one multi-row INSERT.
enum AutoIds {
    /// Consecutively, `step` apart: SQLite (one writer), and MySQL/MariaDB for a "simple
    /// insert" (its row count known up front) under `innodb_autoinc_lock_mode` 0 or 1.
    Consecutive { step: i64 },
    /// Maybe interleaved with other statements' (lock mode 2): one INSERT per row.
    Interleaved,
}

fn auto_ids(conn: &mut DbConn) -> QueryResult<AutoIds> {
    match conn {
        DbConn::Sqlite(_) => Ok(AutoIds::Consecutive { step: 1 }),
        DbConn::Mysql(_) => {
            let (mode, step): (i64, i64) = diesel::select((
                sql::<BigInt>("CAST(@@innodb_autoinc_lock_mode AS SIGNED)"),
                sql::<BigInt>("CAST(@@auto_increment_increment AS SIGNED)"),
            ))
            .get_result(conn)?;
            Ok(if mode <= 1 && step >= 1 {
                AutoIds::Consecutive { step }
            } else {
                AutoIds::Interleaved
            })
        }
    }
}

/// Inserts `n` rows into a table with an auto-increment id and answers their ids in order:
/// `insert(conn, range)` inserts the rows of `range` in one statement. Where the database
/// may interleave the ids of concurrent statements it is called one row at a time.
fn insert_numbered(
    conn: &mut DbConn,
    n: usize,
    mut insert: impl FnMut(&mut DbConn, std::ops::Range<usize>) -> QueryResult<usize>,
) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(n);
    let (chunk, step) = match auto_ids(conn)? {
        AutoIds::Consecutive { step } => (INSERT_CHUNK, step),
        AutoIds::Interleaved => (1, 1),
    };
    let mut start = 0;
    while start < n {
        let end = (start + chunk).min(n);
        let count = end - start;
        if insert(conn, start..end)? != count {
            return Err(diesel::result::Error::QueryBuilderError(
                "a multi-row insert wrote fewer rows than it was given".into(),
            ));
        }
        // SQLite names the last row of the statement, MySQL the first.
        let reported = last_insert_id(conn)?;
        let offset = i64::try_from(count - 1).unwrap_or(0) * step;
        let first = match conn {
            DbConn::Sqlite(_) => reported - offset,
            DbConn::Mysql(_) => reported,
        };
        ids.extend((0..count).map(|k| first + i64::try_from(k).unwrap_or(0) * step));
        start = end;
    }
    Ok(ids)
}
