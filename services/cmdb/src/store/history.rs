//! `history_records`, `history_attrs`, `history_relations`: who changed what, when.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};

use super::schema::{history_attrs, history_records, history_relations};
use super::{to_seconds, AttrRow, CrRow};
use crate::model::HistoryAction;

#[derive(Debug, Clone, Queryable)]
pub struct RecordRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable)]
pub struct AttrChangeRow {
    pub record_id: i64,
    pub ci_id: i64,
    pub attr_id: i64,
    pub attr_name: String,
    #[diesel(deserialize_as = String)]
    pub operate: HistoryAction,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct RelChangeRow {
    pub record_id: i64,
    pub first_ci_id: i64,
    pub second_ci_id: i64,
    pub relation_type: String,
    #[diesel(deserialize_as = String)]
    pub operate: HistoryAction,
}

pub fn insert_record(
    conn: &mut DbConn,
    user_id: i64,
    username: &str,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(history_records::table)
        .values((
            history_records::user_id.eq(user_id),
            history_records::username.eq(username),
            history_records::created_at.eq(to_seconds(&at)),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

/// `n` records of one caller at one time (one per CI a batch adds); their ids in order.
pub fn insert_records(
    conn: &mut DbConn,
    user_id: i64,
    username: &str,
    at: NaiveDateTime,
    n: usize,
) -> QueryResult<Vec<i64>> {
    let at = to_seconds(&at);
    super::insert_numbered(conn, n, |conn, range| {
        let rows: Vec<_> = range
            .map(|_| {
                (
                    history_records::user_id.eq(user_id),
                    history_records::username.eq(username),
                    history_records::created_at.eq(at),
                )
            })
            .collect();
        on_backend!(conn, |c| diesel::insert_into(history_records::table)
            .values(rows)
            .execute(c))
    })
}

/// Many attribute changes, each of its record, in multi-row statements.
pub fn insert_attr_changes(
    conn: &mut DbConn,
    changes: &[(i64, NewAttrChange<'_>)],
) -> QueryResult<()> {
    for chunk in changes.chunks(super::INSERT_CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(record, change)| {
                (
                    history_attrs::record_id.eq(*record),
                    history_attrs::ci_id.eq(change.ci_id),
                    history_attrs::attr_id.eq(change.attr.id),
                    history_attrs::attr_name.eq(&change.attr.name),
                    history_attrs::operate.eq(change.operate.as_str()),
                    history_attrs::old_value.eq(change.old.as_deref()),
                    history_attrs::new_value.eq(change.new.as_deref()),
                )
            })
            .collect();
        on_backend!(conn, |c| diesel::insert_into(history_attrs::table)
            .values(rows)
            .execute(c))?;
    }
    Ok(())
}

pub struct NewAttrChange<'a> {
    pub ci_id: i64,
    pub attr: &'a AttrRow,
    pub operate: HistoryAction,
    pub old: Option<String>,
    pub new: Option<String>,
}

pub fn insert_attr_change(
    conn: &mut DbConn,
    record: i64,
    change: &NewAttrChange<'_>,
) -> QueryResult<()> {
    diesel::insert_into(history_attrs::table)
        .values((
            history_attrs::record_id.eq(record),
            history_attrs::ci_id.eq(change.ci_id),
            history_attrs::attr_id.eq(change.attr.id),
            history_attrs::attr_name.eq(&change.attr.name),
            history_attrs::operate.eq(change.operate.as_str()),
            history_attrs::old_value.eq(change.old.as_deref()),
            history_attrs::new_value.eq(change.new.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_rel_change(
    conn: &mut DbConn,
    record: i64,
    cr: &CrRow,
    operate: HistoryAction,
) -> QueryResult<()> {
    diesel::insert_into(history_relations::table)
        .values((
            history_relations::record_id.eq(record),
            history_relations::cr_id.eq(cr.id),
            history_relations::first_ci_id.eq(cr.first_ci_id),
            history_relations::second_ci_id.eq(cr.second_ci_id),
            history_relations::relation_type.eq(&cr.relation_type),
            history_relations::operate.eq(operate.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

pub struct RecordFilter {
    pub username: Option<String>,
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
}

/// One page of records, newest first, and how many match in all.
pub fn list_records(
    conn: &mut DbConn,
    filter: &RecordFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<RecordRow>)> {
    let build = || {
        let mut query = history_records::table.into_boxed();
        if let Some(name) = &filter.username {
            query = query.filter(history_records::username.eq(name.clone()));
        }
        if let Some(start) = filter.start {
            query = query.filter(history_records::created_at.ge(to_seconds(&start)));
        }
        if let Some(end) = filter.end {
            query = query.filter(history_records::created_at.le(to_seconds(&end)));
        }
        query
    };
    let total: i64 = build().count().get_result(conn)?;
    let rows = build()
        .order(history_records::id.desc())
        .offset(offset)
        .limit(limit)
        .load(conn)?;
    Ok((total, rows))
}

pub fn record(conn: &mut DbConn, id: i64) -> QueryResult<Option<RecordRow>> {
    history_records::table.find(id).get_result(conn).optional()
}

pub fn attr_changes(conn: &mut DbConn, records: &[i64]) -> QueryResult<Vec<AttrChangeRow>> {
    history_attrs::table
        .filter(history_attrs::record_id.eq_any(records.to_vec()))
        .select((
            history_attrs::record_id,
            history_attrs::ci_id,
            history_attrs::attr_id,
            history_attrs::attr_name,
            history_attrs::operate,
            history_attrs::old_value,
            history_attrs::new_value,
        ))
        .order(history_attrs::id)
        .load(conn)
}

pub fn rel_changes(conn: &mut DbConn, records: &[i64]) -> QueryResult<Vec<RelChangeRow>> {
    history_relations::table
        .filter(history_relations::record_id.eq_any(records.to_vec()))
        .select((
            history_relations::record_id,
            history_relations::first_ci_id,
            history_relations::second_ci_id,
            history_relations::relation_type,
            history_relations::operate,
        ))
        .order(history_relations::id)
        .load(conn)
}
