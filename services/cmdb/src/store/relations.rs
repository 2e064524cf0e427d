//! `ci_type_relations` and `ci_relations`: relations between CI types and between CIs.

use std::collections::BTreeMap;

use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};

use super::schema::{ci_relations, ci_type_relations};
use super::IN_CHUNK;

#[derive(Debug, Clone, Queryable)]
pub struct CtrRow {
    pub id: i64,
    pub parent_id: i64,
    pub child_id: i64,
    pub relation_type: String,
}

pub fn insert_ctr(conn: &mut DbConn, parent: i64, child: i64, kind: &str) -> QueryResult<i64> {
    diesel::insert_into(ci_type_relations::table)
        .values((
            ci_type_relations::parent_id.eq(parent),
            ci_type_relations::child_id.eq(child),
            ci_type_relations::relation_type.eq(kind),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn ctr(conn: &mut DbConn, id: i64) -> QueryResult<Option<CtrRow>> {
    ci_type_relations::table
        .find(id)
        .get_result(conn)
        .optional()
}

pub fn ctr_between(conn: &mut DbConn, parent: i64, child: i64) -> QueryResult<Option<CtrRow>> {
    ci_type_relations::table
        .filter(ci_type_relations::parent_id.eq(parent))
        .filter(ci_type_relations::child_id.eq(child))
        .get_result(conn)
        .optional()
}

pub fn delete_ctr(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(ci_type_relations::table.find(id)).execute(conn)
}

pub fn ctr_children(conn: &mut DbConn, parent: i64) -> QueryResult<Vec<CtrRow>> {
    ci_type_relations::table
        .filter(ci_type_relations::parent_id.eq(parent))
        .order(ci_type_relations::id)
        .load(conn)
}

pub fn ctr_parents(conn: &mut DbConn, child: i64) -> QueryResult<Vec<CtrRow>> {
    ci_type_relations::table
        .filter(ci_type_relations::child_id.eq(child))
        .order(ci_type_relations::id)
        .load(conn)
}

// ---- CI relations ----

#[derive(Debug, Clone, Queryable)]
pub struct CrRow {
    pub id: i64,
    pub first_ci_id: i64,
    pub second_ci_id: i64,
    pub relation_type: String,
    pub more: Option<i64>,
}

pub fn insert_cr(
    conn: &mut DbConn,
    first: i64,
    second: i64,
    kind: &str,
    more: Option<i64>,
) -> QueryResult<i64> {
    diesel::insert_into(ci_relations::table)
        .values((
            ci_relations::first_ci_id.eq(first),
            ci_relations::second_ci_id.eq(second),
            ci_relations::relation_type.eq(kind),
            ci_relations::more.eq(more),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn cr(conn: &mut DbConn, id: i64) -> QueryResult<Option<CrRow>> {
    ci_relations::table.find(id).get_result(conn).optional()
}

pub fn cr_between(conn: &mut DbConn, first: i64, second: i64) -> QueryResult<Option<CrRow>> {
    ci_relations::table
        .filter(ci_relations::first_ci_id.eq(first))
        .filter(ci_relations::second_ci_id.eq(second))
        .get_result(conn)
        .optional()
}

pub fn delete_cr(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(ci_relations::table.find(id)).execute(conn)
}

pub fn crs_from(conn: &mut DbConn, first: i64) -> QueryResult<Vec<CrRow>> {
    ci_relations::table
        .filter(ci_relations::first_ci_id.eq(first))
        .order(ci_relations::id)
        .load(conn)
}

/// Every relation with an end among `ids`, each once, by id.
pub fn crs_touching(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<CrRow>> {
    let mut found: BTreeMap<i64, CrRow> = BTreeMap::new();
    for chunk in ids.chunks(IN_CHUNK) {
        // Two statements rather than one OR, so each reads its own index.
        let from: Vec<CrRow> = ci_relations::table
            .filter(ci_relations::first_ci_id.eq_any(chunk))
            .load(conn)?;
        let to: Vec<CrRow> = ci_relations::table
            .filter(ci_relations::second_ci_id.eq_any(chunk))
            .load(conn)?;
        for row in from.into_iter().chain(to) {
            found.insert(row.id, row);
        }
    }
    Ok(found.into_values().collect())
}

pub fn crs_to(conn: &mut DbConn, second: i64) -> QueryResult<Vec<CrRow>> {
    ci_relations::table
        .filter(ci_relations::second_ci_id.eq(second))
        .order(ci_relations::id)
        .load(conn)
}

/// `(id, first_ci_id, second_ci_id)` of the relations after `after`, by id, at most `limit`.
pub fn relation_pairs_after(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, i64, i64)>> {
    ci_relations::table
        .filter(ci_relations::id.gt(after))
        .select((
            ci_relations::id,
            ci_relations::first_ci_id,
            ci_relations::second_ci_id,
        ))
        .order(ci_relations::id)
        .limit(limit)
        .load(conn)
}

/// The CIs one relation away from any of `ids`: the second CIs of their relations, or with
/// `reverse` the first CIs (each read through its own index), with repeats.
pub fn related_ids(conn: &mut DbConn, ids: &[i64], reverse: bool) -> QueryResult<Vec<i64>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let found: Vec<i64> = if reverse {
            ci_relations::table
                .filter(ci_relations::second_ci_id.eq_any(chunk))
                .select(ci_relations::first_ci_id)
                .load(conn)?
        } else {
            ci_relations::table
                .filter(ci_relations::first_ci_id.eq_any(chunk))
                .select(ci_relations::second_ci_id)
                .load(conn)?
        };
        out.extend(found);
    }
    Ok(out)
}
