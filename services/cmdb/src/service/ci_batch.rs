//! `POST /ci/batch` in bulk. The rows that add a CI are resolved and checked in memory
//! against one read of the catalog, their unique values looked up in one query, and runs of
//! them written together: the CIs, their values, their uniqueness claims and their history
//! in multi-row statements. Every other row (an update, a row that refers to a CI, a row
//! any check refuses) goes through the one-row write (`ci_write`) exactly as before, after
//! the rows ahead of it are written, so it sees them; and a run whose statements fail
//! (a unique value another writer just took) is undone and written one row at a time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use diesel::Connection;
use kit::db::DbConn;
use wire::cmdb as w;

use super::ci_write::{check_add, resolve_type, resolve_with, write_ci, ResolvedWrite};
use super::cis::{existing_ci, CiWrite, WriteMode};
use super::history::history_text;
use super::{catalog, now};
use crate::auth::Actor;
use crate::error::Error;
use crate::model::{Catalog, HistoryAction};
use crate::store::{self, NewAttrChange};

/// A row to add in bulk: its index, the row as given (for the one-row write should the bulk
/// one fail), and the row resolved.
type Pending = (usize, CiWrite, ResolvedWrite);

/// Writes every row of a batch in the caller's transaction: a row's result is what the
/// one-row write would have answered for it, in order.
pub(super) fn batch(
    conn: &mut DbConn,
    caller: &Actor,
    rows: Vec<CiWrite>,
) -> Result<(Vec<w::BatchRow>, Vec<i64>), Error> {
    let cat = Arc::new(catalog(conn)?);
    let mut bindings = HashMap::new();
    let mut resolved = Vec::with_capacity(rows.len());
    for row in &rows {
        resolved.push(bulk_candidate(conn, &cat, &mut bindings, caller, row)?);
    }
    let wanted: Vec<(i64, String)> = resolved.iter().flatten().flat_map(claims).collect();
    let mut taken: HashSet<(i64, String)> =
        store::unique_owners(conn, &wanted)?.into_keys().collect();
    let mut results: Vec<Option<w::BatchRow>> = (0..rows.len()).map(|_| None).collect();
    let mut pending: Vec<Pending> = Vec::new();
    for (index, (row, write)) in rows.into_iter().zip(resolved).enumerate() {
        match write {
            // Nothing holds its unique values, neither in the database nor ahead in the batch.
            Some(write) if claims(&write).all(|c| !taken.contains(&c)) => {
                taken.extend(claims(&write));
                pending.push((index, row, write));
            }
            _ => {
                flush(conn, caller, &mut pending, &mut results)?;
                results[index] = Some(one_row(conn, caller, index, row));
            }
        }
    }
    flush(conn, caller, &mut pending, &mut results)?;
    let results: Vec<w::BatchRow> = results.into_iter().flatten().collect();
    let written = results.iter().filter_map(|r| r.ci_id).collect();
    Ok((results, written))
}

/// The row resolved, when it adds a CI that every check in memory lets through; `None`
/// sends it to the one-row write (which also gives the refusals their messages).
fn bulk_candidate(
    conn: &mut DbConn,
    cat: &Arc<Catalog>,
    bindings: &mut HashMap<i64, Vec<(i64, bool)>>,
    caller: &Actor,
    row: &CiWrite,
) -> Result<Option<ResolvedWrite>, Error> {
    if row.ci_id.is_some() {
        return Ok(None);
    }
    let Ok(ty) = resolve_type(cat, None, row) else {
        return Ok(None);
    };
    if caller.may_write_type(&ty.name).is_err() {
        return Ok(None);
    }
    let bound = match bindings.get(&ty.id) {
        Some(bound) => bound.clone(),
        None => {
            let bound = store::type_bindings(conn, ty.id)?;
            bindings.insert(ty.id, bound.clone());
            bound
        }
    };
    Ok(resolve_with(cat.clone(), ty, bound, row)
        .ok()
        .filter(|write| check_add(write).is_ok()))
}

/// The unique values a new CI claims, `(attr_id, canonical value)`.
fn claims(write: &ResolvedWrite) -> impl Iterator<Item = (i64, String)> + '_ {
    write
        .changes
        .iter()
        .filter(|c| c.attr.is_uniq)
        .flat_map(|c| {
            c.values
                .iter()
                .flatten()
                .map(|v| (c.attr.id, v.canonical()))
        })
}

/// Writes the pending rows in bulk in a savepoint; should that fail, one row at a time.
fn flush(
    conn: &mut DbConn,
    caller: &Actor,
    pending: &mut Vec<Pending>,
    results: &mut [Option<w::BatchRow>],
) -> Result<(), Error> {
    if pending.is_empty() {
        return Ok(());
    }
    let run = std::mem::take(pending);
    match conn.transaction(|conn| add_in_bulk(conn, caller, &run)) {
        Ok(ids) => {
            for ((index, _, _), ci_id) in run.iter().zip(ids) {
                results[*index] = Some(row_result(*index, Ok((WriteMode::Add, ci_id))));
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, rows = run.len(), "bulk add undone; one row at a time");
            for (index, row, _) in run {
                results[index] = Some(one_row(conn, caller, index, row));
            }
        }
    }
    Ok(())
}

/// The CIs, their values, uniqueness claims and history (one record per CI, as the one-row
/// write leaves), in multi-row statements; the new ids in order.
fn add_in_bulk(conn: &mut DbConn, caller: &Actor, run: &[Pending]) -> Result<Vec<i64>, Error> {
    let type_ids: Vec<i64> = run.iter().map(|(_, _, w)| w.ty.id).collect();
    let ids = store::insert_cis(conn, &type_ids)?;
    let records = store::insert_records(conn, caller.user_id, &caller.username, now(), run.len())?;
    let mut values = Vec::new();
    let mut uniques = Vec::new();
    let mut changes = Vec::new();
    for (((_, _, write), ci_id), record) in run.iter().zip(&ids).zip(&records) {
        for change in &write.changes {
            let Some(new) = &change.values else { continue };
            for value in new {
                if change.attr.is_uniq {
                    uniques.push((change.attr.id, value.canonical(), *ci_id));
                }
                values.push((*ci_id, change.attr.id, value));
            }
            changes.push((
                *record,
                NewAttrChange {
                    ci_id: *ci_id,
                    attr: &change.attr,
                    operate: HistoryAction::Add,
                    old: None,
                    new: Some(history_text(&change.attr, new)),
                },
            ));
        }
    }
    store::claim_uniques(conn, &uniques)?;
    store::insert_values(conn, &values)?;
    store::insert_attr_changes(conn, &changes)?;
    Ok(ids)
}

/// One row as the one-row write does it, in a savepoint of its own: a refused row leaves no
/// trace and does not undo the others.
fn one_row(conn: &mut DbConn, caller: &Actor, index: usize, row: CiWrite) -> w::BatchRow {
    let written = conn.transaction(|conn| {
        let mode = if row.ci_id.is_some() || existing_ci(conn, &row)?.is_some() {
            WriteMode::Update
        } else {
            WriteMode::Add
        };
        write_ci(conn, caller, mode, row).map(|id| (mode, id))
    });
    row_result(index, written)
}

fn row_result(index: usize, written: Result<(WriteMode, i64), Error>) -> w::BatchRow {
    let index = index as i64;
    match written {
        Ok((mode, ci_id)) => w::BatchRow {
            index,
            action: mode.as_str().into(),
            ci_id: Some(ci_id),
            status: 200,
            message: None,
        },
        Err(e) => w::BatchRow {
            index,
            action: "error".into(),
            ci_id: None,
            status: e.http_status(),
            message: Some(e.to_string()),
        },
    }
}
