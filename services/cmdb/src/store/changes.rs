//! `ci_change_seq` and `ci_changes`: the change log the search index follows.

use std::collections::BTreeSet;

use diesel::prelude::*;
use kit::db::DbConn;

use super::schema::{ci_change_seq, ci_changes};

/// The `ci_changes` entry that asks every process to rebuild its search index.
pub const REBUILD: i64 = 0;
/// The `ci_changes` entry that says the catalog (attributes, types, their bindings) changed:
/// every process reads it again before its next search. Every catalog write logs it.
pub const CATALOG: i64 = -1;

/// Records that `ci_ids` changed, under a new change sequence. Call it last in the
/// transaction that changed them: the bump locks the counter row until commit (which makes
/// these transactions commit in sequence order), and taking that lock last keeps it short.
pub fn log_changes(conn: &mut DbConn, ci_ids: &[i64]) -> QueryResult<()> {
    if ci_ids.is_empty() {
        return Ok(());
    }
    diesel::update(ci_change_seq::table.find(SEQ_ROW))
        .set(ci_change_seq::value.eq(ci_change_seq::value + 1))
        .execute(conn)?;
    // The bump holds the row until commit: this is the sequence it gave.
    let seq = change_seq(conn)?;
    let distinct: BTreeSet<i64> = ci_ids.iter().copied().collect();
    let distinct: Vec<i64> = distinct.into_iter().collect();
    for chunk in distinct.chunks(super::INSERT_CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|id| (ci_changes::seq.eq(seq), ci_changes::ci_id.eq(*id)))
            .collect();
        on_backend!(conn, |c| diesel::insert_into(ci_changes::table)
            .values(rows)
            .execute(c))?;
    }
    trim_changes(conn, seq, KEEP_CHANGES, TRIM_EVERY)
}

/// Row of `ci_change_seq` holding the last change sequence.
const SEQ_ROW: i64 = 1;
/// Row of `ci_change_seq` holding the sequence up to which `ci_changes` was trimmed.
const TRIMMED_ROW: i64 = 2;
/// Changes kept in the log behind the current sequence: a process further behind rebuilds
/// its index anyway (see `search::index::REBUILD_ABOVE`).
pub const KEEP_CHANGES: i64 = 20_000;
/// The log is trimmed when the sequence crosses a multiple of this.
const TRIM_EVERY: i64 = 1_000;

/// The last committed change sequence (0 before any change).
pub fn change_seq(conn: &mut DbConn) -> QueryResult<i64> {
    Ok(ci_change_seq::table
        .find(SEQ_ROW)
        .select(ci_change_seq::value)
        .get_result(conn)
        .optional()?
        .unwrap_or(0))
}

/// The sequence up to which the log was trimmed: an index older than this must rebuild.
pub fn trimmed_upto(conn: &mut DbConn) -> QueryResult<i64> {
    Ok(ci_change_seq::table
        .find(TRIMMED_ROW)
        .select(ci_change_seq::value)
        .get_result(conn)
        .optional()?
        .unwrap_or(0))
}

/// When `seq` is a multiple of `every`, deletes the log rows more than `keep` behind it and
/// records how far the log now starts. [`log_changes`] calls it in the writing transaction
/// with [`KEEP_CHANGES`] and [`TRIM_EVERY`], so the log stays bounded without a background job.
pub fn trim_changes(conn: &mut DbConn, seq: i64, keep: i64, every: i64) -> QueryResult<()> {
    let upto = seq - keep;
    if every <= 0 || seq % every != 0 || upto <= 0 {
        return Ok(());
    }
    diesel::delete(ci_changes::table.filter(ci_changes::seq.le(upto))).execute(conn)?;
    diesel::update(ci_change_seq::table.find(TRIMMED_ROW))
        .set(ci_change_seq::value.eq(upto))
        .execute(conn)?;
    Ok(())
}

/// The CIs changed after sequence `after` up to `upto`, each once.
pub fn changes_between(conn: &mut DbConn, after: i64, upto: i64) -> QueryResult<BTreeSet<i64>> {
    let ids: Vec<i64> = ci_changes::table
        .filter(ci_changes::seq.gt(after))
        .filter(ci_changes::seq.le(upto))
        .select(ci_changes::ci_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}
