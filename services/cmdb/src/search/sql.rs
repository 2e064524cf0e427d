//! The search of `GET /ci/s` as SQL. Searches run on the in-memory index (`search::index`);
//! this is what answers when the index cannot (a CI id beyond `u32`), and what a unit test
//! checks the index against. The service turns `q` into one boolean [`Filter`] over the
//! `cis c` row, and these functions run it as a page, a count per type and one GROUP BY per
//! facet, so no id set of the matches is ever loaded into the service.
//!
//! Each term is an uncorrelated `c.id IN (SELECT v.ci_id FROM <typed table> v WHERE
//! v.attr_id = ? AND ...)`: both backends read it from the `(attr_id, value, ci_id)` index
//! alone and build the set once per statement. (Correlated EXISTS probes were tried: without
//! table statistics SQLite picked plans a thousand times slower.)
//!
//! The SQL is written by hand with `?` placeholders because diesel's DSL cannot nest an
//! arbitrary tree of AND / OR / NOT over subqueries of four tables; every value is bound,
//! never spliced, and only numbers the service computed (limits) are written into the text.

use diesel::mysql::Mysql;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Double, Text};
use diesel::sqlite::Sqlite;
use kit::db::DbConn;

use super::plan::{Cmp, Order, Param, Selector};
use super::query::Join;
use crate::model::{Typed, ValueType};
use crate::store::{from_seconds, value_table_name};

/// A boolean SQL expression over the row `c` of `cis`, with its bound values in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Filter {
    pub fn all() -> Filter {
        Filter {
            sql: "1 = 1".into(),
            params: Vec::new(),
        }
    }

    /// `c.<column> IN (ids...)`; an empty list matches nothing.
    fn column_in(column: &str, ids: &[i64]) -> Filter {
        if ids.is_empty() {
            return Filter {
                sql: "1 = 0".into(),
                params: Vec::new(),
            };
        }
        let marks = vec!["?"; ids.len()].join(", ");
        Filter {
            sql: format!("c.{column} IN ({marks})"),
            params: ids.iter().map(|id| Param::Int(*id)).collect(),
        }
    }

    pub fn ids_in(ids: &[i64]) -> Filter {
        Filter::column_in("id", ids)
    }

    pub fn types_in(types: &[i64]) -> Filter {
        Filter::column_in("type_id", types)
    }

    pub fn and(self, other: Filter) -> Filter {
        self.join("AND", other)
    }

    pub fn or(self, other: Filter) -> Filter {
        self.join("OR", other)
    }

    pub fn and_not(self, other: Filter) -> Filter {
        self.join("AND NOT", other)
    }

    pub fn not(self) -> Filter {
        Filter {
            sql: format!("NOT ({})", self.sql),
            params: self.params,
        }
    }

    fn join(mut self, op: &str, other: Filter) -> Filter {
        self.params.extend(other.params);
        Filter {
            sql: format!("({}) {op} ({})", self.sql, other.sql),
            params: self.params,
        }
    }
}

fn is_sqlite(conn: &DbConn) -> bool {
    matches!(conn, DbConn::Sqlite(_))
}

/// The CIs holding a value of `attr` (or of any text attribute, when `attr` is none) that
/// meets every bound of at least one of `alternatives` (an alternative without bounds
/// matches any value).
pub fn value_filter(
    conn: &DbConn,
    vt: ValueType,
    attr: Option<i64>,
    alternatives: &[Vec<(Cmp, Param)>],
) -> Filter {
    let mut params = Vec::new();
    let mut wheres = Vec::new();
    if let Some(attr) = attr {
        wheres.push("v.attr_id = ?".to_string());
        params.push(Param::Int(attr));
    }
    let mut ors = Vec::new();
    for bounds in alternatives {
        let mut ands = Vec::new();
        for (cmp, value) in bounds {
            let sql = match cmp {
                Cmp::Eq => "v.value = ?",
                Cmp::Ge => "v.value >= ?",
                Cmp::Gt => "v.value > ?",
                Cmp::Le => "v.value <= ?",
                Cmp::Lt => "v.value < ?",
                // SQLite's LIKE ignores case and its GLOB does not; MariaDB's LIKE follows
                // the column's binary collation, so it is case-sensitive there.
                Cmp::Glob if is_sqlite(conn) => "v.value GLOB ?",
                Cmp::Glob => "v.value LIKE ? ESCAPE '!'",
            };
            ands.push(sql.to_string());
            params.push(match (cmp, value) {
                (Cmp::Glob, Param::Text(pattern)) if is_sqlite(conn) => {
                    Param::Text(sqlite_glob(pattern))
                }
                (Cmp::Glob, Param::Text(pattern)) => Param::Text(mysql_like(pattern)),
                (_, value) => value.clone(),
            });
        }
        if ands.is_empty() {
            ors.push("1 = 1".to_string());
        } else {
            ors.push(format!("({})", ands.join(" AND ")));
        }
    }
    if ors.is_empty() {
        ors.push("1 = 0".to_string());
    }
    wheres.push(format!("({})", ors.join(" OR ")));
    Filter {
        sql: format!(
            "c.id IN (SELECT v.ci_id FROM {} v WHERE {})",
            value_table_name(vt),
            wheres.join(" AND ")
        ),
        params,
    }
}

/// A `*` pattern as a GLOB pattern: `?` and `[` are GLOB's own, so they become classes.
fn sqlite_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}

/// A `*` pattern as a LIKE pattern escaped by `!` (a backslash would need escaping twice on
/// MariaDB, once as a string literal and once as the escape).
fn mysql_like(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '!' => {
                out.push('!');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

/// Binds the parameters and loads the rows, on either backend.
fn load<R>(conn: &mut DbConn, sql: &str, params: &[Param]) -> QueryResult<Vec<R>>
where
    R: QueryableByName<Sqlite> + QueryableByName<Mysql> + 'static,
{
    fn bind_all<'f, DB>(
        mut query: BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>,
        params: &[Param],
    ) -> BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>
    where
        DB: diesel::backend::Backend
            + diesel::sql_types::HasSqlType<BigInt>
            + diesel::sql_types::HasSqlType<Double>
            + diesel::sql_types::HasSqlType<Text>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
        f64: diesel::serialize::ToSql<Double, DB>,
        String: diesel::serialize::ToSql<Text, DB>,
    {
        for param in params {
            query = match param {
                Param::Int(v) => query.bind::<BigInt, _>(*v),
                Param::Float(v) => query.bind::<Double, _>(*v),
                Param::Text(v) => query.bind::<Text, _>(v.clone()),
            };
        }
        query
    }
    match conn {
        DbConn::Sqlite(c) => {
            bind_all(diesel::sql_query(sql).into_boxed::<Sqlite>(), params).load(c)
        }
        DbConn::Mysql(c) => bind_all(diesel::sql_query(sql).into_boxed::<Mysql>(), params).load(c),
    }
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct TypeCountRow {
    #[diesel(sql_type = BigInt)]
    type_id: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct IntCountRow {
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct FloatCountRow {
    #[diesel(sql_type = Double)]
    value: f64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct TextCountRow {
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many CIs of each type match.
pub fn count_by_type(conn: &mut DbConn, filter: &Filter) -> QueryResult<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT c.type_id AS type_id, COUNT(*) AS n FROM cis c WHERE {} GROUP BY c.type_id",
        filter.sql
    );
    let rows: Vec<TypeCountRow> = load(conn, &sql, &filter.params)?;
    Ok(rows.into_iter().map(|r| (r.type_id, r.n)).collect())
}

/// The ids of one page of matches.
pub fn page(
    conn: &mut DbConn,
    filter: &Filter,
    order: Order,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    // Written as numbers, not bound: they are the service's own i64s, and a bound LIMIT
    // is what makes diesel re-prepare on SQLite.
    let window = format!("LIMIT {limit} OFFSET {offset}");
    match order {
        Order::Id => {
            let sql = format!(
                "SELECT c.id AS id FROM cis c WHERE {} ORDER BY c.id {window}",
                filter.sql
            );
            let rows: Vec<IdRow> = load(conn, &sql, &filter.params)?;
            Ok(rows.into_iter().map(|r| r.id).collect())
        }
        Order::Attr {
            vt,
            attr_id,
            descending,
        } => {
            let direction = if descending { "DESC" } else { "ASC" };
            // Ties break by id in the direction of the sort; CIs without a value by id up.
            let tie = if descending {
                "CASE WHEN s.sk IS NULL THEN s.id ELSE -s.id END"
            } else {
                "s.id"
            };
            let sql = format!(
                "SELECT s.id AS id FROM (SELECT c.id AS id, \
                 (SELECT v.value FROM {table} v WHERE v.ci_id = c.id AND v.attr_id = ? \
                 ORDER BY v.id LIMIT 1) AS sk FROM cis c WHERE {filter}) s \
                 ORDER BY CASE WHEN s.sk IS NULL THEN 1 ELSE 0 END, s.sk {direction}, {tie} \
                 {window}",
                table = value_table_name(vt),
                filter = filter.sql,
            );
            let mut params = vec![Param::Int(attr_id)];
            params.extend(filter.params.iter().cloned());
            let rows: Vec<IdRow> = load(conn, &sql, &params)?;
            Ok(rows.into_iter().map(|r| r.id).collect())
        }
    }
}

/// Every value of `attr` held by a match, with how many times it is held.
pub fn facet(
    conn: &mut DbConn,
    filter: &Filter,
    vt: ValueType,
    attr_id: i64,
) -> QueryResult<Vec<(Typed, i64)>> {
    // MariaDB turns the nested INs into semi-joins driven by a scan of `cis` with a lookup
    // per row (about 0.5-2 s on 100k CIs); materialising each IN once instead, as it does
    // without semi-joins, takes a tenth of that. The setting is per statement, so sessions
    // keep their optimizer defaults, and written so that both servers read their own form:
    // `/*M! ... */` is executed by MariaDB only (MySQL sees a comment), and the `SET_VAR`
    // hint is read by MySQL 8 only (MariaDB sees a comment).
    let (prefix, hint) = if is_sqlite(conn) {
        ("", "")
    } else {
        (
            "/*M! SET STATEMENT optimizer_switch = 'semijoin=off' FOR */ ",
            "/*+ SET_VAR(optimizer_switch = 'semijoin=off') */ ",
        )
    };
    let sql = format!(
        "{prefix}SELECT {hint}v.value AS value, COUNT(*) AS n FROM {} v WHERE v.attr_id = ? \
         AND v.ci_id IN (SELECT c.id FROM cis c WHERE {}) GROUP BY v.value",
        value_table_name(vt),
        filter.sql
    );
    let mut params = vec![Param::Int(attr_id)];
    params.extend(filter.params.iter().cloned());
    Ok(match vt {
        ValueType::Int => load::<IntCountRow>(conn, &sql, &params)?
            .into_iter()
            .map(|r| (Typed::Int(r.value), r.n))
            .collect(),
        ValueType::Date => load::<IntCountRow>(conn, &sql, &params)?
            .into_iter()
            .map(|r| (Typed::Date(from_seconds(r.value)), r.n))
            .collect(),
        ValueType::Float => load::<FloatCountRow>(conn, &sql, &params)?
            .into_iter()
            .map(|r| (Typed::Float(r.value), r.n))
            .collect(),
        ValueType::Text => load::<TextCountRow>(conn, &sql, &params)?
            .into_iter()
            .map(|r| (Typed::Text(r.value), r.n))
            .collect(),
    })
}

/// Terms combined left to right as SQL: plain ANDs, `-` ORs, `~` subtracts, `-~` ORs the
/// complement; a leading `~` or `-~` subtracts from every CI (of the `_type`s, which the
/// caller ANDs); no term is every CI.
pub(super) fn terms_filter(conn: &DbConn, terms: &[(Join, Selector)]) -> Filter {
    let mut matched: Option<Filter> = None;
    for (join, selector) in terms {
        let next = selector_filter(conn, selector);
        matched = Some(match (matched, join) {
            (None, Join::Not | Join::OrNot) => next.not(),
            (None, _) => next,
            (Some(acc), Join::And) => acc.and(next),
            (Some(acc), Join::Or) => acc.or(next),
            (Some(acc), Join::Not) => acc.and_not(next),
            (Some(acc), Join::OrNot) => acc.or(next.not()),
        });
    }
    matched.unwrap_or_else(Filter::all)
}

/// A selector as SQL over `cis c`.
pub(super) fn selector_filter(conn: &DbConn, selector: &Selector) -> Filter {
    match selector {
        Selector::Group(terms) => terms_filter(conn, terms),
        Selector::Types(types) => Filter::types_in(types),
        Selector::Ids(ids) => Filter::ids_in(ids),
        Selector::Values {
            vt,
            attr,
            alternatives,
        } => value_filter(conn, *vt, *attr, alternatives),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_and_like_patterns_keep_only_star_special() {
        assert_eq!(sqlite_glob("a?b[c*"), "a[?]b[[]c*");
        assert_eq!(mysql_like("a_b%c!d*"), "a!_b!%c!!d%");
    }

    #[test]
    fn filters_nest_left_to_right_with_their_params_in_order() {
        let f = Filter::ids_in(&[1, 2])
            .or(Filter::types_in(&[3]))
            .and_not(Filter::ids_in(&[]));
        assert_eq!(
            f.sql,
            "((c.id IN (?, ?)) OR (c.type_id IN (?))) AND NOT (1 = 0)"
        );
        assert_eq!(f.params, vec![Param::Int(1), Param::Int(2), Param::Int(3)]);
    }
}
