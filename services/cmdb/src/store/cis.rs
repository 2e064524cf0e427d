//! `cis`: each CI and its type (its values are `values`).

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};

use super::schema::cis;
use super::{values, IN_CHUNK, SCAN_THRESHOLD};

pub fn insert_ci(conn: &mut DbConn, type_id: i64) -> QueryResult<i64> {
    diesel::insert_into(cis::table)
        .values(cis::type_id.eq(type_id))
        .execute(conn)?;
    last_insert_id(conn)
}

/// New CIs of these types, in one statement per thousand; their ids in order.
pub fn insert_cis(conn: &mut DbConn, type_ids: &[i64]) -> QueryResult<Vec<i64>> {
    super::insert_numbered(conn, type_ids.len(), |conn, range| {
        let rows: Vec<_> = type_ids[range]
            .iter()
            .map(|t| cis::type_id.eq(*t))
            .collect();
        on_backend!(conn, |c| diesel::insert_into(cis::table)
            .values(rows)
            .execute(c))
    })
}

/// The CI's type, if the CI exists.
pub fn ci_type_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<i64>> {
    cis::table
        .find(id)
        .select(cis::type_id)
        .get_result(conn)
        .optional()
}

/// The types of these CIs, by CI id.
pub fn ci_types_of(conn: &mut DbConn, ids: &BTreeSet<i64>) -> QueryResult<HashMap<i64, i64>> {
    let mut found = HashMap::with_capacity(ids.len());
    if ids.len() > SCAN_THRESHOLD {
        let all: Vec<(i64, i64)> = cis::table.select((cis::id, cis::type_id)).load(conn)?;
        found.extend(all.into_iter().filter(|(id, _)| ids.contains(id)));
        return Ok(found);
    }
    let list: Vec<i64> = ids.iter().copied().collect();
    for chunk in list.chunks(IN_CHUNK) {
        let rows: Vec<(i64, i64)> = cis::table
            .filter(cis::id.eq_any(chunk))
            .select((cis::id, cis::type_id))
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

pub fn ci_page_of_type(
    conn: &mut DbConn,
    type_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    cis::table
        .filter(cis::type_id.eq(type_id))
        .select(cis::id)
        .order(cis::id)
        .offset(offset)
        .limit(limit)
        .load(conn)
}

pub fn delete_ci(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    values::delete_values_of_ci(conn, id)?;
    diesel::delete(cis::table.find(id)).execute(conn)?;
    Ok(())
}

/// `(id, type_id)` of the CIs after `after`, by id, at most `limit`.
pub fn cis_after(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<(i64, i64)>> {
    cis::table
        .filter(cis::id.gt(after))
        .select((cis::id, cis::type_id))
        .order(cis::id)
        .limit(limit)
        .load(conn)
}
