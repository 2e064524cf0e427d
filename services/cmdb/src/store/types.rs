//! `ci_types` and `ci_type_attributes`: CI types and the attributes bound to them.

use std::collections::HashMap;

use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};

use super::schema::{ci_type_attributes, ci_type_relations, ci_types, cis};

#[derive(Debug, Clone, Queryable)]
pub struct TypeRow {
    pub id: i64,
    pub name: String,
    pub alias: String,
    pub unique_attr_id: i64,
    pub icon_url: String,
    pub enabled: bool,
}

/// A type's writable fields, named as its columns.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = ci_types)]
pub struct TypeFields {
    pub name: String,
    pub alias: String,
    pub unique_attr_id: i64,
    pub icon_url: String,
    pub enabled: bool,
}

pub fn all_types(conn: &mut DbConn) -> QueryResult<Vec<TypeRow>> {
    ci_types::table.order(ci_types::id).load(conn)
}

pub fn insert_type(conn: &mut DbConn, f: &TypeFields) -> QueryResult<i64> {
    diesel::insert_into(ci_types::table)
        .values(f)
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_type(conn: &mut DbConn, id: i64, f: &TypeFields) -> QueryResult<usize> {
    diesel::update(ci_types::table.find(id))
        .set(f)
        .execute(conn)
}

pub fn delete_type(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::delete(
        ci_type_relations::table.filter(
            ci_type_relations::parent_id
                .eq(id)
                .or(ci_type_relations::child_id.eq(id)),
        ),
    )
    .execute(conn)?;
    diesel::delete(ci_type_attributes::table.filter(ci_type_attributes::type_id.eq(id)))
        .execute(conn)?;
    diesel::delete(ci_types::table.find(id)).execute(conn)?;
    Ok(())
}

pub fn count_cis_of_type(conn: &mut DbConn, type_id: i64) -> QueryResult<i64> {
    cis::table
        .filter(cis::type_id.eq(type_id))
        .count()
        .get_result(conn)
}

/// `(attr_id, is_required)` of the attributes bound to a type, in binding order.
pub fn type_bindings(conn: &mut DbConn, type_id: i64) -> QueryResult<Vec<(i64, bool)>> {
    ci_type_attributes::table
        .filter(ci_type_attributes::type_id.eq(type_id))
        .select((ci_type_attributes::attr_id, ci_type_attributes::is_required))
        .order(ci_type_attributes::attr_id)
        .load(conn)
}

pub fn bind(conn: &mut DbConn, type_id: i64, attr_id: i64, required: bool) -> QueryResult<()> {
    let exists: i64 = ci_type_attributes::table
        .filter(ci_type_attributes::type_id.eq(type_id))
        .filter(ci_type_attributes::attr_id.eq(attr_id))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        diesel::update(
            ci_type_attributes::table
                .filter(ci_type_attributes::type_id.eq(type_id))
                .filter(ci_type_attributes::attr_id.eq(attr_id)),
        )
        .set(ci_type_attributes::is_required.eq(required))
        .execute(conn)?;
    } else {
        diesel::insert_into(ci_type_attributes::table)
            .values((
                ci_type_attributes::type_id.eq(type_id),
                ci_type_attributes::attr_id.eq(attr_id),
                ci_type_attributes::is_required.eq(required),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn unbind(conn: &mut DbConn, type_id: i64, attr_id: i64) -> QueryResult<usize> {
    diesel::delete(
        ci_type_attributes::table
            .filter(ci_type_attributes::type_id.eq(type_id))
            .filter(ci_type_attributes::attr_id.eq(attr_id)),
    )
    .execute(conn)
}

/// Every binding, by type: what rendering CIs of several types needs.
pub fn all_bindings(conn: &mut DbConn) -> QueryResult<HashMap<i64, Vec<i64>>> {
    let rows: Vec<(i64, i64)> = ci_type_attributes::table
        .select((ci_type_attributes::type_id, ci_type_attributes::attr_id))
        .order((ci_type_attributes::type_id, ci_type_attributes::attr_id))
        .load(conn)?;
    let mut by_type: HashMap<i64, Vec<i64>> = HashMap::new();
    for (type_id, attr_id) in rows {
        by_type.entry(type_id).or_default().push(attr_id);
    }
    Ok(by_type)
}
