//! The queries of cmdb, written once for SQLite and MySQL over `kit::db::DbConn`.
//! Functions here run inside `Db::read` / `Db::write`, on the blocking pool.
//!
//! Single-row lookups use `get_result` (with `.optional()`), not `first`: `first` binds
//! `LIMIT ?`, which the multi-backend connection mishandles on SQLite (see resource-pool).

pub mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use kit::db::{last_insert_id, DbConn};
use wire::cmdb as w;

use crate::model::{HistoryAction, Typed, ValueType};
use schema::{
    attributes, ci_change_seq, ci_changes, ci_relations, ci_type_attributes, ci_type_relations,
    ci_types, ci_unique_values, ci_values_datetime, ci_values_float, ci_values_int, ci_values_text,
    cis, history_attrs, history_records, history_relations, users,
};

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

// ---- users ----

#[derive(Debug, Clone, Queryable)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub api_key: String,
    pub secret: String,
    pub is_admin: bool,
}

/// The columns of [`UserRow`].
type UserColumns = (
    users::id,
    users::username,
    users::api_key,
    users::secret,
    users::is_admin,
);
const USER_COLUMNS: UserColumns = (
    users::id,
    users::username,
    users::api_key,
    users::secret,
    users::is_admin,
);

impl UserRow {
    pub fn to_wire(&self) -> w::User {
        w::User {
            user_id: self.id,
            username: self.username.clone(),
            api_key: self.api_key.clone(),
            secret: self.secret.clone(),
            is_admin: self.is_admin,
        }
    }
}

pub fn user_by_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::api_key.eq(key))
        .select(USER_COLUMNS)
        .get_result(conn)
        .optional()
}

pub fn user_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(name))
        .select(USER_COLUMNS)
        .get_result(conn)
        .optional()
}

pub fn insert_user(
    conn: &mut DbConn,
    name: &str,
    key: &str,
    secret: &str,
    is_admin: bool,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    let at = to_seconds(&at);
    diesel::insert_into(users::table)
        .values((
            users::username.eq(name),
            users::api_key.eq(key),
            users::secret.eq(secret),
            users::is_admin.eq(is_admin),
            users::created_at.eq(at),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn set_user_keys(conn: &mut DbConn, id: i64, key: &str, secret: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::api_key.eq(key),
            users::secret.eq(secret),
            users::is_admin.eq(true),
        ))
        .execute(conn)
}

// ---- attributes ----

#[derive(Debug, Clone, Queryable)]
pub struct AttrRow {
    pub id: i64,
    pub name: String,
    pub alias: String,
    pub value_type: String,
    pub is_choice: bool,
    pub choice_value: String,
    pub is_multivalue: bool,
    pub is_uniq: bool,
}

impl AttrRow {
    pub fn vt(&self) -> ValueType {
        ValueType::parse(&self.value_type).unwrap_or(ValueType::Text)
    }

    pub fn choices(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.choice_value).unwrap_or_default()
    }

    pub fn to_wire(&self) -> w::Attribute {
        w::Attribute {
            attr_id: self.id,
            attr_name: self.name.clone(),
            attr_alias: self.alias.clone(),
            value_type: self.vt().as_str().to_string(),
            is_choice: self.is_choice,
            choice_value: self.choices(),
            is_multivalue: self.is_multivalue,
            is_uniq: self.is_uniq,
        }
    }
}

/// The writable fields of an attribute.
#[derive(Debug, Clone)]
pub struct AttrFields {
    pub name: String,
    pub alias: String,
    pub value_type: ValueType,
    pub is_choice: bool,
    pub choice_value: String,
    pub is_multivalue: bool,
    pub is_uniq: bool,
}

pub fn all_attributes(conn: &mut DbConn) -> QueryResult<Vec<AttrRow>> {
    attributes::table.order(attributes::id).load(conn)
}

pub fn insert_attribute(conn: &mut DbConn, f: &AttrFields) -> QueryResult<i64> {
    diesel::insert_into(attributes::table)
        .values((
            attributes::name.eq(&f.name),
            attributes::alias.eq(&f.alias),
            attributes::value_type.eq(f.value_type.as_str()),
            attributes::is_choice.eq(f.is_choice),
            attributes::choice_value.eq(&f.choice_value),
            attributes::is_multivalue.eq(f.is_multivalue),
            attributes::is_uniq.eq(f.is_uniq),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_attribute(conn: &mut DbConn, id: i64, f: &AttrFields) -> QueryResult<usize> {
    diesel::update(attributes::table.find(id))
        .set((
            attributes::name.eq(&f.name),
            attributes::alias.eq(&f.alias),
            attributes::value_type.eq(f.value_type.as_str()),
            attributes::is_choice.eq(f.is_choice),
            attributes::choice_value.eq(&f.choice_value),
            attributes::is_multivalue.eq(f.is_multivalue),
            attributes::is_uniq.eq(f.is_uniq),
        ))
        .execute(conn)
}

/// Deletes the attribute, its bindings and every value CIs hold of it.
pub fn delete_attribute(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::delete(ci_unique_values::table.filter(ci_unique_values::attr_id.eq(id)))
        .execute(conn)?;
    diesel::delete(ci_values_int::table.filter(ci_values_int::attr_id.eq(id))).execute(conn)?;
    diesel::delete(ci_values_float::table.filter(ci_values_float::attr_id.eq(id))).execute(conn)?;
    diesel::delete(ci_values_text::table.filter(ci_values_text::attr_id.eq(id))).execute(conn)?;
    diesel::delete(ci_values_datetime::table.filter(ci_values_datetime::attr_id.eq(id)))
        .execute(conn)?;
    diesel::delete(ci_type_attributes::table.filter(ci_type_attributes::attr_id.eq(id)))
        .execute(conn)?;
    diesel::delete(attributes::table.find(id)).execute(conn)?;
    Ok(())
}

/// How many values CIs hold of this attribute.
pub fn count_values(conn: &mut DbConn, attr: &AttrRow) -> QueryResult<i64> {
    let id = attr.id;
    match attr.vt() {
        ValueType::Int => ci_values_int::table
            .filter(ci_values_int::attr_id.eq(id))
            .count()
            .get_result(conn),
        ValueType::Float => ci_values_float::table
            .filter(ci_values_float::attr_id.eq(id))
            .count()
            .get_result(conn),
        ValueType::Text => ci_values_text::table
            .filter(ci_values_text::attr_id.eq(id))
            .count()
            .get_result(conn),
        ValueType::Date => ci_values_datetime::table
            .filter(ci_values_datetime::attr_id.eq(id))
            .count()
            .get_result(conn),
    }
}

// ---- CI types and their attributes ----

#[derive(Debug, Clone, Queryable)]
pub struct TypeRow {
    pub id: i64,
    pub name: String,
    pub alias: String,
    pub unique_attr_id: i64,
    pub icon_url: String,
    pub enabled: bool,
}

#[derive(Debug, Clone)]
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
        .values((
            ci_types::name.eq(&f.name),
            ci_types::alias.eq(&f.alias),
            ci_types::unique_attr_id.eq(f.unique_attr_id),
            ci_types::icon_url.eq(&f.icon_url),
            ci_types::enabled.eq(f.enabled),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_type(conn: &mut DbConn, id: i64, f: &TypeFields) -> QueryResult<usize> {
    diesel::update(ci_types::table.find(id))
        .set((
            ci_types::name.eq(&f.name),
            ci_types::alias.eq(&f.alias),
            ci_types::unique_attr_id.eq(f.unique_attr_id),
            ci_types::icon_url.eq(&f.icon_url),
            ci_types::enabled.eq(f.enabled),
        ))
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

// ---- CIs ----

pub fn insert_ci(conn: &mut DbConn, type_id: i64) -> QueryResult<i64> {
    diesel::insert_into(cis::table)
        .values(cis::type_id.eq(type_id))
        .execute(conn)?;
    last_insert_id(conn)
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
    diesel::delete(ci_unique_values::table.filter(ci_unique_values::ci_id.eq(id))).execute(conn)?;
    diesel::delete(ci_values_int::table.filter(ci_values_int::ci_id.eq(id))).execute(conn)?;
    diesel::delete(ci_values_float::table.filter(ci_values_float::ci_id.eq(id))).execute(conn)?;
    diesel::delete(ci_values_text::table.filter(ci_values_text::ci_id.eq(id))).execute(conn)?;
    diesel::delete(ci_values_datetime::table.filter(ci_values_datetime::ci_id.eq(id)))
        .execute(conn)?;
    diesel::delete(cis::table.find(id)).execute(conn)?;
    Ok(())
}

// ---- values ----

/// A stored value: `(ci_id, attr_id, value)`.
pub type ValueRow = (i64, i64, Typed);

/// Every value of these CIs, each table in insertion order (so multi-values keep theirs).
pub fn load_values(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<ValueRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let rows: Vec<(i64, i64, i64)> = ci_values_int::table
            .filter(ci_values_int::ci_id.eq_any(chunk))
            .select((
                ci_values_int::ci_id,
                ci_values_int::attr_id,
                ci_values_int::value,
            ))
            .order(ci_values_int::id)
            .load(conn)?;
        out.extend(rows.into_iter().map(|(c, a, v)| (c, a, Typed::Int(v))));
        let rows: Vec<(i64, i64, f64)> = ci_values_float::table
            .filter(ci_values_float::ci_id.eq_any(chunk))
            .select((
                ci_values_float::ci_id,
                ci_values_float::attr_id,
                ci_values_float::value,
            ))
            .order(ci_values_float::id)
            .load(conn)?;
        out.extend(rows.into_iter().map(|(c, a, v)| (c, a, Typed::Float(v))));
        let rows: Vec<(i64, i64, String)> = ci_values_text::table
            .filter(ci_values_text::ci_id.eq_any(chunk))
            .select((
                ci_values_text::ci_id,
                ci_values_text::attr_id,
                ci_values_text::value,
            ))
            .order(ci_values_text::id)
            .load(conn)?;
        out.extend(rows.into_iter().map(|(c, a, v)| (c, a, Typed::Text(v))));
        let rows: Vec<(i64, i64, i64)> = ci_values_datetime::table
            .filter(ci_values_datetime::ci_id.eq_any(chunk))
            .select((
                ci_values_datetime::ci_id,
                ci_values_datetime::attr_id,
                ci_values_datetime::value,
            ))
            .order(ci_values_datetime::id)
            .load(conn)?;
        out.extend(
            rows.into_iter()
                .map(|(c, a, v)| (c, a, Typed::Date(from_seconds(v)))),
        );
    }
    Ok(out)
}

pub fn insert_value(conn: &mut DbConn, ci_id: i64, attr_id: i64, value: &Typed) -> QueryResult<()> {
    match value {
        Typed::Int(v) => diesel::insert_into(ci_values_int::table)
            .values((
                ci_values_int::ci_id.eq(ci_id),
                ci_values_int::attr_id.eq(attr_id),
                ci_values_int::value.eq(v),
            ))
            .execute(conn)?,
        Typed::Float(v) => diesel::insert_into(ci_values_float::table)
            .values((
                ci_values_float::ci_id.eq(ci_id),
                ci_values_float::attr_id.eq(attr_id),
                ci_values_float::value.eq(v),
            ))
            .execute(conn)?,
        Typed::Text(v) => diesel::insert_into(ci_values_text::table)
            .values((
                ci_values_text::ci_id.eq(ci_id),
                ci_values_text::attr_id.eq(attr_id),
                ci_values_text::value.eq(v),
            ))
            .execute(conn)?,
        Typed::Date(v) => diesel::insert_into(ci_values_datetime::table)
            .values((
                ci_values_datetime::ci_id.eq(ci_id),
                ci_values_datetime::attr_id.eq(attr_id),
                ci_values_datetime::value.eq(to_seconds(v)),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Removes every value of one attribute from one CI (and its uniqueness claims).
pub fn delete_values(conn: &mut DbConn, ci_id: i64, attr: &AttrRow) -> QueryResult<()> {
    diesel::delete(
        ci_unique_values::table
            .filter(ci_unique_values::ci_id.eq(ci_id))
            .filter(ci_unique_values::attr_id.eq(attr.id)),
    )
    .execute(conn)?;
    match attr.vt() {
        ValueType::Int => diesel::delete(
            ci_values_int::table
                .filter(ci_values_int::ci_id.eq(ci_id))
                .filter(ci_values_int::attr_id.eq(attr.id)),
        )
        .execute(conn)?,
        ValueType::Float => diesel::delete(
            ci_values_float::table
                .filter(ci_values_float::ci_id.eq(ci_id))
                .filter(ci_values_float::attr_id.eq(attr.id)),
        )
        .execute(conn)?,
        ValueType::Text => diesel::delete(
            ci_values_text::table
                .filter(ci_values_text::ci_id.eq(ci_id))
                .filter(ci_values_text::attr_id.eq(attr.id)),
        )
        .execute(conn)?,
        ValueType::Date => diesel::delete(
            ci_values_datetime::table
                .filter(ci_values_datetime::ci_id.eq(ci_id))
                .filter(ci_values_datetime::attr_id.eq(attr.id)),
        )
        .execute(conn)?,
    };
    Ok(())
}

/// The CI holding this value of a unique attribute, if any.
pub fn unique_owner(conn: &mut DbConn, attr_id: i64, value: &str) -> QueryResult<Option<i64>> {
    ci_unique_values::table
        .filter(ci_unique_values::attr_id.eq(attr_id))
        .filter(ci_unique_values::value.eq(value))
        .select(ci_unique_values::ci_id)
        .get_result(conn)
        .optional()
}

pub fn claim_unique(conn: &mut DbConn, attr_id: i64, value: &str, ci_id: i64) -> QueryResult<()> {
    diesel::insert_into(ci_unique_values::table)
        .values((
            ci_unique_values::attr_id.eq(attr_id),
            ci_unique_values::value.eq(value),
            ci_unique_values::ci_id.eq(ci_id),
        ))
        .execute(conn)?;
    Ok(())
}

// ---- CI type relations ----

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

// ---- history ----

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
    pub operate: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct RelChangeRow {
    pub record_id: i64,
    pub first_ci_id: i64,
    pub second_ci_id: i64,
    pub relation_type: String,
    pub operate: String,
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

// ---- the change log the search index follows ----

/// The `ci_changes` entry that asks every process to rebuild its search index.
pub const REBUILD: i64 = 0;

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
    let distinct: BTreeSet<i64> = ci_ids.iter().copied().collect();
    for id in distinct {
        // The new sequence is read by the INSERT itself: one round trip less per write.
        diesel::insert_into(ci_changes::table)
            .values(
                ci_change_seq::table
                    .find(SEQ_ROW)
                    .select((ci_change_seq::value, id.into_sql::<BigInt>())),
            )
            .into_columns((ci_changes::seq, ci_changes::ci_id))
            .execute(conn)?;
    }
    let seq = change_seq(conn)?;
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

/// `(id, type_id)` of the CIs after `after`, by id, at most `limit`.
pub fn cis_after(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<(i64, i64)>> {
    cis::table
        .filter(cis::id.gt(after))
        .select((cis::id, cis::type_id))
        .order(cis::id)
        .limit(limit)
        .load(conn)
}

/// A stored value with its row id: `(row_id, ci_id, attr_id, value)`.
pub type ValueRowWithId = (i64, i64, i64, Typed);

/// The value rows of one table after row `after`, by row id (so each CI's values of an
/// attribute come in insertion order), at most `limit`.
pub fn values_after(
    conn: &mut DbConn,
    vt: ValueType,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ValueRowWithId>> {
    // The same query over each typed value table; `$typed` wraps the column's value.
    macro_rules! page_of {
        ($table:ident, $value:ty, $typed:expr) => {
            $table::table
                .filter($table::id.gt(after))
                .select(($table::id, $table::ci_id, $table::attr_id, $table::value))
                .order($table::id)
                .limit(limit)
                .load::<(i64, i64, i64, $value)>(conn)?
                .into_iter()
                .map(|(r, c, a, v)| (r, c, a, $typed(v)))
                .collect()
        };
    }
    Ok(match vt {
        ValueType::Int => page_of!(ci_values_int, i64, Typed::Int),
        ValueType::Float => page_of!(ci_values_float, f64, Typed::Float),
        ValueType::Text => page_of!(ci_values_text, String, Typed::Text),
        ValueType::Date => page_of!(ci_values_datetime, i64, |v| Typed::Date(from_seconds(v))),
    })
}
