//! The queries of resource-pool, written once for SQLite and MySQL over `kit::db::DbConn`.
//! Functions here run inside `Db::read` / `Db::write`, on the blocking pool.

pub mod schema;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use wire::resource_pool as w;

use schema::{audit_log, businesses, dbs, instances, owners, servers};

pub const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub fn format_date(at: &NaiveDateTime) -> String {
    at.format(DATE_FORMAT).to_string()
}

/// `count` 0 means every row.
fn limit(count: i64) -> i64 {
    if count == 0 {
        i64::MAX
    } else {
        count
    }
}

/// A server's values apart from its id.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = servers, treat_none_as_null = true)]
pub struct ServerValues {
    pub ip: String,
    pub name: String,
    pub os: String,
    pub stat: i32,
    pub owner_id: Option<i64>,
    pub owner_name: String,
    pub online_date: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = instances, treat_none_as_null = true)]
pub struct InstanceValues {
    pub server_id: i64,
    pub port: i32,
    pub name: String,
    pub level: String,
    pub stat: i32,
    pub business_id: Option<i64>,
    pub business: String,
    pub owner_id: Option<i64>,
    pub owner: String,
    pub db_type: String,
    pub ha_type: String,
    pub online_date: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = dbs, treat_none_as_null = true)]
pub struct DatabaseValues {
    pub instance_id: i64,
    pub name: String,
    pub level: String,
    pub stat: i32,
    pub business_id: Option<i64>,
    pub business: String,
    pub owner_id: Option<i64>,
    pub owner_name: String,
    pub online_date: NaiveDateTime,
}

/// A row is its id and its values.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = servers)]
pub struct ServerRow {
    pub id: i64,
    #[diesel(embed)]
    pub values: ServerValues,
}

impl ServerRow {
    pub fn to_wire(&self) -> w::Server {
        let v = &self.values;
        w::Server {
            id: self.id,
            ip: v.ip.clone(),
            name: v.name.clone(),
            os: v.os.clone(),
            stat: v.stat,
            owner: v.owner_id,
            owner_name: v.owner_name.clone(),
            online_date: format_date(&v.online_date),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = instances)]
pub struct InstanceRow {
    pub id: i64,
    #[diesel(embed)]
    pub values: InstanceValues,
}

impl InstanceRow {
    pub fn to_wire(&self, ip: &str) -> w::Instance {
        let v = &self.values;
        w::Instance {
            id: self.id,
            ip: ip.to_string(),
            port: v.port,
            server_id: v.server_id,
            name: v.name.clone(),
            level: v.level.clone(),
            stat: v.stat,
            business_id: v.business_id,
            business: v.business.clone(),
            owner_id: v.owner_id,
            owner: v.owner.clone(),
            db_type: v.db_type.clone(),
            ha_type: v.ha_type.clone(),
            online_date: format_date(&v.online_date),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dbs)]
pub struct DatabaseRow {
    pub id: i64,
    #[diesel(embed)]
    pub values: DatabaseValues,
}

impl DatabaseRow {
    pub fn to_wire(&self, ip: &str, port: i32) -> w::Database {
        let v = &self.values;
        w::Database {
            id: self.id,
            ip: ip.to_string(),
            port,
            name: v.name.clone(),
            level: v.level.clone(),
            instance_id: v.instance_id,
            business_id: v.business_id,
            business: v.business.clone(),
            owner: v.owner_id,
            owner_name: v.owner_name.clone(),
            online_date: format_date(&v.online_date),
            stat: v.stat,
        }
    }
}

// ---- reads ----

// The lists read the first `count` rows of one table by primary key (or by the `(stat, id)`
// index), then the ips and ports of just those rows: a join under ORDER BY ... LIMIT lets
// MariaDB's planner drive from the wrong table and sort everything.

pub fn list_servers(conn: &mut DbConn, stat: i32, count: i64) -> QueryResult<Vec<w::Server>> {
    let mut query = servers::table.select(ServerRow::as_select()).into_boxed();
    if stat != 0 {
        query = query.filter(servers::stat.eq(stat));
    }
    let rows: Vec<ServerRow> = query.order(servers::id).limit(limit(count)).load(conn)?;
    Ok(rows.iter().map(ServerRow::to_wire).collect())
}

pub fn list_instances(conn: &mut DbConn, stat: i32, count: i64) -> QueryResult<Vec<w::Instance>> {
    let mut query = instances::table
        .select(InstanceRow::as_select())
        .into_boxed();
    if stat != 0 {
        query = query.filter(instances::stat.eq(stat));
    }
    let rows: Vec<InstanceRow> = query.order(instances::id).limit(limit(count)).load(conn)?;
    let ips = server_ips(conn, rows.iter().map(|r| r.values.server_id))?;
    Ok(rows
        .iter()
        .map(|row| row.to_wire(ips.get(&row.values.server_id).map_or("", String::as_str)))
        .collect())
}

pub fn list_databases(conn: &mut DbConn, stat: i32, count: i64) -> QueryResult<Vec<w::Database>> {
    let mut query = dbs::table.select(DatabaseRow::as_select()).into_boxed();
    if stat != 0 {
        query = query.filter(dbs::stat.eq(stat));
    }
    let rows: Vec<DatabaseRow> = query.order(dbs::id).limit(limit(count)).load(conn)?;
    let mut instance_ids: Vec<i64> = rows.iter().map(|r| r.values.instance_id).collect();
    instance_ids.sort_unstable();
    instance_ids.dedup();
    let mut located: HashMap<i64, (i64, i32)> = HashMap::new();
    for chunk in instance_ids.chunks(IN_CHUNK) {
        let found: Vec<(i64, i64, i32)> = instances::table
            .filter(instances::id.eq_any(chunk))
            .select((instances::id, instances::server_id, instances::port))
            .load(conn)?;
        located.extend(
            found
                .into_iter()
                .map(|(id, server_id, port)| (id, (server_id, port))),
        );
    }
    let ips = server_ips(conn, located.values().map(|(server_id, _)| *server_id))?;
    Ok(rows
        .iter()
        .map(|row| {
            let (server_id, port) = located
                .get(&row.values.instance_id)
                .copied()
                .unwrap_or((0, 0));
            row.to_wire(ips.get(&server_id).map_or("", String::as_str), port)
        })
        .collect())
}

/// Bound on the ids in one `IN (...)`, well under every backend's limit on bound parameters.
const IN_CHUNK: usize = 500;

/// The ips of these servers, by id.
fn server_ips(
    conn: &mut DbConn,
    ids: impl Iterator<Item = i64>,
) -> QueryResult<HashMap<i64, String>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let mut ips = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IN_CHUNK) {
        let found: Vec<(i64, String)> = servers::table
            .filter(servers::id.eq_any(chunk))
            .select((servers::id, servers::ip))
            .load(conn)?;
        ips.extend(found);
    }
    Ok(ips)
}

// Single-row lookups use `get_result`, not `first`: `first` binds `LIMIT ?`, and SQLite
// re-prepares a statement whenever a bound LIMIT is rebound (a re-parse on every call).

pub fn find_server(conn: &mut DbConn, ip: &str) -> QueryResult<Option<ServerRow>> {
    servers::table
        .filter(servers::ip.eq(ip))
        .select(ServerRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_instance(conn: &mut DbConn, ip: &str, port: i32) -> QueryResult<Option<InstanceRow>> {
    instances::table
        .inner_join(servers::table)
        .filter(servers::ip.eq(ip))
        .filter(instances::port.eq(port))
        .select(InstanceRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_database(
    conn: &mut DbConn,
    ip: &str,
    port: i32,
    name: &str,
) -> QueryResult<Option<DatabaseRow>> {
    dbs::table
        .inner_join(instances::table.inner_join(servers::table))
        .filter(servers::ip.eq(ip))
        .filter(instances::port.eq(port))
        .filter(dbs::name.eq(name))
        .select(DatabaseRow::as_select())
        .get_result(conn)
        .optional()
}

/// `$count(conn, parent)` and `$list(conn, parent)`: how many rows of `$table` have `$parent`
/// as their parent, and those rows (as `$row`) in id order.
macro_rules! children {
    ($count:ident, $list:ident, $table:ident, $parent:ident, $row:ty) => {
        pub fn $count(conn: &mut DbConn, parent: i64) -> QueryResult<i64> {
            $table::table
                .filter($table::$parent.eq(parent))
                .count()
                .get_result(conn)
        }

        pub fn $list(conn: &mut DbConn, parent: i64) -> QueryResult<Vec<$row>> {
            $table::table
                .filter($table::$parent.eq(parent))
                .order($table::id)
                .select(<$row>::as_select())
                .load(conn)
        }
    };
}

children!(
    count_instances_of_server,
    instances_of_server,
    instances,
    server_id,
    InstanceRow
);
children!(
    count_databases_of_instance,
    databases_of_instance,
    dbs,
    instance_id,
    DatabaseRow
);

pub fn count_databases_of_server(conn: &mut DbConn, server_id: i64) -> QueryResult<i64> {
    dbs::table
        .inner_join(instances::table)
        .filter(instances::server_id.eq(server_id))
        .count()
        .get_result(conn)
}

// ---- lookups of owners and businesses, created on first use ----

/// `$function(conn, name)`: the id of `name` in `$table` (`id`, `name`), added if missing.
/// A macro because each diesel table is a type of its own.
macro_rules! id_of_name {
    ($function:ident, $table:ident) => {
        pub fn $function(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
            if let Some(id) = $table::table
                .filter($table::name.eq(name))
                .select($table::id)
                .get_result(conn)
                .optional()?
            {
                return Ok(id);
            }
            diesel::insert_into($table::table)
                .values($table::name.eq(name))
                .execute(conn)?;
            last_insert_id(conn)
        }
    };
}

id_of_name!(owner_id, owners);
id_of_name!(business_id, businesses);

// ---- writes ----

/// The same four statements on each inventory table: read a row by id, insert values (and
/// read the row back), update them, delete. A macro because each diesel table is a type of
/// its own.
macro_rules! row_statements {
    ($table:ident, $row:ty, $values:ty, $by_id:ident, $insert:ident, $update:ident, $delete:ident) => {
        pub fn $by_id(conn: &mut DbConn, id: i64) -> QueryResult<$row> {
            $table::table
                .find(id)
                .select(<$row>::as_select())
                .get_result(conn)
        }

        pub fn $insert(conn: &mut DbConn, values: &$values) -> QueryResult<$row> {
            diesel::insert_into($table::table)
                .values(values)
                .execute(conn)?;
            let id = last_insert_id(conn)?;
            $by_id(conn, id)
        }

        pub fn $update(conn: &mut DbConn, id: i64, values: &$values) -> QueryResult<$row> {
            diesel::update($table::table.find(id))
                .set(values)
                .execute(conn)?;
            $by_id(conn, id)
        }

        pub fn $delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
            diesel::delete($table::table.find(id)).execute(conn)
        }
    };
}

#[rustfmt::skip]
row_statements!(servers, ServerRow, ServerValues, server_by_id, insert_server, update_server, delete_server);
#[rustfmt::skip]
row_statements!(instances, InstanceRow, InstanceValues, instance_by_id, insert_instance, update_instance, delete_instance);
#[rustfmt::skip]
row_statements!(dbs, DatabaseRow, DatabaseValues, database_by_id, insert_database, update_database, delete_database);

// ---- audit log ----

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditEntry {
    pub at: NaiveDateTime,
    pub model: String,
    pub action: String,
    pub entity: String,
    pub target: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub request_id: String,
    /// The verified subject of the token that made the change.
    pub who: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    #[diesel(embed)]
    pub entry: NewAuditEntry,
}

impl AuditRow {
    pub fn to_wire(&self) -> w::AuditEntry {
        let parse =
            |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
        let e = &self.entry;
        w::AuditEntry {
            id: self.id,
            at: format_date(&e.at),
            model: e.model.clone(),
            action: e.action.clone(),
            entity: e.entity.clone(),
            target: e.target.clone(),
            old_value: parse(&e.old_value),
            new_value: parse(&e.new_value),
            request_id: e.request_id.clone(),
            who: e.who.clone(),
        }
    }
}

pub fn insert_audit(conn: &mut DbConn, entry: &NewAuditEntry) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)?;
    Ok(())
}

/// The audit filters, already validated.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub who: Option<String>,
    pub model: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub ip: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Newest first; returns (total matching, this page).
pub fn list_audit(
    conn: &mut DbConn,
    query: &AuditQuery,
    offset: i64,
    page_size: i64,
) -> QueryResult<(i64, Vec<AuditRow>)> {
    let filtered = || {
        let mut q = audit_log::table.into_boxed();
        if let Some(who) = &query.who {
            q = q.filter(audit_log::who.eq(who.clone()));
        }
        if let Some(model) = &query.model {
            q = q.filter(audit_log::model.eq(model.clone()));
        }
        if let Some(action) = &query.action {
            q = q.filter(audit_log::action.eq(action.clone()));
        }
        if let Some(entity) = &query.entity {
            q = q.filter(audit_log::entity.eq(entity.clone()));
        }
        if let Some(ip) = &query.ip {
            // Instances and databases of the server: `ip:port...`, or `[v6]:port...`.
            let below = if ip.contains(':') {
                format!("[{}]:%", escape_like(ip))
            } else {
                format!("{}:%", escape_like(ip))
            };
            q = q.filter(
                audit_log::target
                    .eq(ip.clone())
                    .or(audit_log::target.like(below).escape('\\')),
            );
        }
        if let Some(since) = query.since {
            q = q.filter(audit_log::at.ge(since));
        }
        if let Some(until) = query.until {
            q = q.filter(audit_log::at.le(until));
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(AuditRow::as_select())
        .order(audit_log::id.desc())
        .offset(offset)
        .limit(page_size)
        .load(conn)?;
    Ok((total, rows))
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
