//! The four typed value tables (`ci_values_int`, `_float`, `_text`, `_datetime`) and the
//! uniqueness claims of `ci_unique_values`. The typed tables share their columns (`id`,
//! `ci_id`, `attr_id`, `value`), so every query over them is written once and run on the
//! table of a value type through [`on_value_table!`].

use diesel::prelude::*;
use kit::db::DbConn;

use super::schema::ci_unique_values;
use super::{from_seconds, to_seconds, AttrRow, IN_CHUNK};
use crate::model::{Typed, ValueType};

/// Runs `$body` on the value table of `$vt`: in it, `$t` names that table's schema module,
/// `$raw` the Rust type of its `value` column, and `$typed` turns such a value into a
/// [`Typed`] (dates are stored as unix seconds).
macro_rules! on_value_table {
    ($vt:expr, |$t:ident, $raw:ident, $typed:ident| $body:expr) => {
        match $vt {
            ValueType::Int => {
                use super::schema::ci_values_int as $t;
                type $raw = i64;
                let $typed = Typed::Int;
                $body
            }
            ValueType::Float => {
                use super::schema::ci_values_float as $t;
                type $raw = f64;
                let $typed = Typed::Float;
                $body
            }
            ValueType::Text => {
                use super::schema::ci_values_text as $t;
                type $raw = String;
                let $typed = Typed::Text;
                $body
            }
            ValueType::Date => {
                use super::schema::ci_values_datetime as $t;
                type $raw = i64;
                let $typed = |seconds: i64| Typed::Date(from_seconds(seconds));
                $body
            }
        }
    };
    ($vt:expr, |$t:ident| $body:expr) => {
        on_value_table!($vt, |$t, _Raw, _typed| $body)
    };
}

/// The name of the table holding values of `vt`, for the SQL the search writes by hand.
pub fn value_table_name(vt: ValueType) -> &'static str {
    match vt {
        ValueType::Int => "ci_values_int",
        ValueType::Float => "ci_values_float",
        ValueType::Text => "ci_values_text",
        ValueType::Date => "ci_values_datetime",
    }
}

/// A stored value: `(ci_id, attr_id, value)`.
pub type ValueRow = (i64, i64, Typed);

/// A stored value with its row id: `(row_id, ci_id, attr_id, value)`.
pub type ValueRowWithId = (i64, i64, i64, Typed);

/// Every value of these CIs, each table in insertion order (so multi-values keep theirs).
pub fn load_values(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<ValueRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        for vt in ValueType::ALL {
            on_value_table!(vt, |t, Raw, typed| {
                let rows: Vec<(i64, i64, Raw)> = t::table
                    .filter(t::ci_id.eq_any(chunk))
                    .select((t::ci_id, t::attr_id, t::value))
                    .order(t::id)
                    .load(conn)?;
                out.extend(rows.into_iter().map(|(c, a, v)| (c, a, typed(v))));
            })
        }
    }
    Ok(out)
}

/// The value rows of one table after row `after`, by row id (so each CI's values of an
/// attribute come in insertion order), at most `limit`.
pub fn values_after(
    conn: &mut DbConn,
    vt: ValueType,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ValueRowWithId>> {
    on_value_table!(vt, |t, Raw, typed| {
        let rows: Vec<(i64, i64, i64, Raw)> = t::table
            .filter(t::id.gt(after))
            .select((t::id, t::ci_id, t::attr_id, t::value))
            .order(t::id)
            .limit(limit)
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(r, c, a, v)| (r, c, a, typed(v)))
            .collect())
    })
}

/// How many values CIs hold of this attribute.
pub fn count_values(conn: &mut DbConn, attr: &AttrRow) -> QueryResult<i64> {
    on_value_table!(attr.value_type, |t| t::table
        .filter(t::attr_id.eq(attr.id))
        .count()
        .get_result(conn))
}

pub fn insert_value(conn: &mut DbConn, ci_id: i64, attr_id: i64, value: &Typed) -> QueryResult<()> {
    // One statement for the four tables, each given the value as its column stores it.
    macro_rules! insert {
        ($table:ident, $value:expr) => {{
            use super::schema::$table as t;
            diesel::insert_into(t::table)
                .values((
                    t::ci_id.eq(ci_id),
                    t::attr_id.eq(attr_id),
                    t::value.eq($value),
                ))
                .execute(conn)
        }};
    }
    match value {
        Typed::Int(v) => insert!(ci_values_int, v)?,
        Typed::Float(v) => insert!(ci_values_float, v)?,
        Typed::Text(v) => insert!(ci_values_text, v)?,
        Typed::Date(at) => insert!(ci_values_datetime, to_seconds(at))?,
    };
    Ok(())
}

/// Many values, `(ci_id, attr_id, value)`, in multi-row statements per table; rows of one
/// table keep their order (so multi-values keep theirs).
pub fn insert_values(conn: &mut DbConn, values: &[(i64, i64, &Typed)]) -> QueryResult<()> {
    let (mut ints, mut floats, mut texts, mut dates) = (vec![], vec![], vec![], vec![]);
    for (ci, attr, value) in values {
        match value {
            Typed::Int(v) => ints.push((*ci, *attr, *v)),
            Typed::Float(v) => floats.push((*ci, *attr, *v)),
            Typed::Text(v) => texts.push((*ci, *attr, v.as_str())),
            Typed::Date(at) => dates.push((*ci, *attr, to_seconds(at))),
        }
    }
    macro_rules! insert {
        ($table:ident, $rows:expr) => {{
            use super::schema::$table as t;
            for chunk in $rows.chunks(super::INSERT_CHUNK) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|(ci, attr, v)| (t::ci_id.eq(*ci), t::attr_id.eq(*attr), t::value.eq(*v)))
                    .collect();
                on_backend!(conn, |c| diesel::insert_into(t::table)
                    .values(rows)
                    .execute(c))?;
            }
        }};
    }
    insert!(ci_values_int, ints);
    insert!(ci_values_float, floats);
    insert!(ci_values_text, texts);
    insert!(ci_values_datetime, dates);
    Ok(())
}

/// The CIs holding these values of unique attributes, `(attr_id, canonical value)`, by value.
pub fn unique_owners(
    conn: &mut DbConn,
    wanted: &[(i64, String)],
) -> QueryResult<std::collections::HashMap<(i64, String), i64>> {
    let mut by_attr: std::collections::BTreeMap<i64, Vec<&str>> = Default::default();
    for (attr, value) in wanted {
        by_attr.entry(*attr).or_default().push(value);
    }
    let mut found = std::collections::HashMap::new();
    for (attr, values) in by_attr {
        for chunk in values.chunks(IN_CHUNK) {
            let rows: Vec<(String, i64)> = ci_unique_values::table
                .filter(ci_unique_values::attr_id.eq(attr))
                .filter(ci_unique_values::value.eq_any(chunk))
                .select((ci_unique_values::value, ci_unique_values::ci_id))
                .load(conn)?;
            found.extend(rows.into_iter().map(|(v, ci)| ((attr, v), ci)));
        }
    }
    Ok(found)
}

/// Claims of unique values, `(attr_id, canonical value, ci_id)`, in multi-row statements:
/// a value already held fails the statement (the primary key).
pub fn claim_uniques(conn: &mut DbConn, claims: &[(i64, String, i64)]) -> QueryResult<()> {
    for chunk in claims.chunks(super::INSERT_CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(attr, value, ci)| {
                (
                    ci_unique_values::attr_id.eq(*attr),
                    ci_unique_values::value.eq(value.as_str()),
                    ci_unique_values::ci_id.eq(*ci),
                )
            })
            .collect();
        on_backend!(conn, |c| diesel::insert_into(ci_unique_values::table)
            .values(rows)
            .execute(c))?;
    }
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
    on_value_table!(attr.value_type, |t| diesel::delete(
        t::table
            .filter(t::ci_id.eq(ci_id))
            .filter(t::attr_id.eq(attr.id))
    )
    .execute(conn))?;
    Ok(())
}

/// Removes every value of one CI, of every attribute (and its uniqueness claims).
pub fn delete_values_of_ci(conn: &mut DbConn, ci_id: i64) -> QueryResult<()> {
    diesel::delete(ci_unique_values::table.filter(ci_unique_values::ci_id.eq(ci_id)))
        .execute(conn)?;
    for vt in ValueType::ALL {
        on_value_table!(vt, |t| diesel::delete(t::table.filter(t::ci_id.eq(ci_id)))
            .execute(conn))?;
    }
    Ok(())
}

/// Removes every value any CI holds of one attribute (and its uniqueness claims).
pub fn delete_values_of_attr(conn: &mut DbConn, attr_id: i64) -> QueryResult<()> {
    diesel::delete(ci_unique_values::table.filter(ci_unique_values::attr_id.eq(attr_id)))
        .execute(conn)?;
    for vt in ValueType::ALL {
        on_value_table!(vt, |t| diesel::delete(
            t::table.filter(t::attr_id.eq(attr_id))
        )
        .execute(conn))?;
    }
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
