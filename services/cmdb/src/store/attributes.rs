//! `attributes`: what CIs may hold.

use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use wire::cmdb as w;

use super::schema::{attributes, ci_type_attributes};
use super::values;
use crate::model::ValueType;

#[derive(Debug, Clone, Queryable)]
pub struct AttrRow {
    pub id: i64,
    pub name: String,
    pub alias: String,
    /// Read as the type it names (text, for a name this version does not know).
    #[diesel(deserialize_as = String)]
    pub value_type: ValueType,
    pub is_choice: bool,
    pub choice_value: String,
    pub is_multivalue: bool,
    pub is_uniq: bool,
}

impl AttrRow {
    pub fn choices(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.choice_value).unwrap_or_default()
    }

    pub fn to_wire(&self) -> w::Attribute {
        w::Attribute {
            attr_id: self.id,
            attr_name: self.name.clone(),
            attr_alias: self.alias.clone(),
            value_type: self.value_type.as_str().to_string(),
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

/// An attribute's writable fields as its columns hold them.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = attributes)]
struct AttrColumns<'a> {
    name: &'a str,
    alias: &'a str,
    value_type: &'a str,
    is_choice: bool,
    choice_value: &'a str,
    is_multivalue: bool,
    is_uniq: bool,
}

impl AttrFields {
    fn columns(&self) -> AttrColumns<'_> {
        AttrColumns {
            name: &self.name,
            alias: &self.alias,
            value_type: self.value_type.as_str(),
            is_choice: self.is_choice,
            choice_value: &self.choice_value,
            is_multivalue: self.is_multivalue,
            is_uniq: self.is_uniq,
        }
    }
}

pub fn insert_attribute(conn: &mut DbConn, f: &AttrFields) -> QueryResult<i64> {
    diesel::insert_into(attributes::table)
        .values(f.columns())
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_attribute(conn: &mut DbConn, id: i64, f: &AttrFields) -> QueryResult<usize> {
    diesel::update(attributes::table.find(id))
        .set(f.columns())
        .execute(conn)
}

/// Deletes the attribute, its bindings and every value CIs hold of it.
pub fn delete_attribute(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    values::delete_values_of_attr(conn, id)?;
    diesel::delete(ci_type_attributes::table.filter(ci_type_attributes::attr_id.eq(id)))
        .execute(conn)?;
    diesel::delete(attributes::table.find(id)).execute(conn)?;
    Ok(())
}
