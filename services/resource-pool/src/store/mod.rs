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

#[derive(Debug, Clone, Queryable)]
pub struct ServerRow {
    pub id: i64,
    pub ip: String,
    pub name: String,
    pub os: String,
    pub stat: i32,
    pub owner_id: Option<i64>,
    pub owner_name: String,
    pub online_date: NaiveDateTime,
}

impl ServerRow {
    pub fn to_wire(&self) -> w::Server {
        w::Server {
            id: self.id,
            ip: self.ip.clone(),
            name: self.name.clone(),
            os: self.os.clone(),
            stat: self.stat,
            owner: self.owner_id,
            owner_name: self.owner_name.clone(),
            online_date: format_date(&self.online_date),
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct InstanceRow {
    pub id: i64,
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

impl InstanceRow {
    pub fn to_wire(&self, ip: &str) -> w::Instance {
        w::Instance {
            id: self.id,
            ip: ip.to_string(),
            port: self.port,
            server_id: self.server_id,
            name: self.name.clone(),
            level: self.level.clone(),
            stat: self.stat,
            business_id: self.business_id,
            business: self.business.clone(),
            owner_id: self.owner_id,
            owner: self.owner.clone(),
            db_type: self.db_type.clone(),
            ha_type: self.ha_type.clone(),
            online_date: format_date(&self.online_date),
        }
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct DatabaseRow {
    pub id: i64,
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

impl DatabaseRow {
    pub fn to_wire(&self, ip: &str, port: i32) -> w::Database {
        w::Database {
            id: self.id,
            ip: ip.to_string(),
            port,
            name: self.name.clone(),
            level: self.level.clone(),
            instance_id: self.instance_id,
            business_id: self.business_id,
            business: self.business.clone(),
            owner: self.owner_id,
            owner_name: self.owner_name.clone(),
            online_date: format_date(&self.online_date),
            stat: self.stat,
        }
    }
}

// ---- reads ----

// The lists read the first `count` rows of one table by primary key (or by the `(stat, id)`
// index), then the ips and ports of just those rows: a join under ORDER BY ... LIMIT lets
// MariaDB's planner drive from the wrong table and sort everything.

pub fn list_servers(conn: &mut DbConn, stat: i32, count: i64) -> QueryResult<Vec<w::Server>> {
    let mut query = servers::table.into_boxed();
    if stat != 0 {
        query = query.filter(servers::stat.eq(stat));
    }
    let rows: Vec<ServerRow> = query.order(servers::id).limit(limit(count)).load(conn)?;
    Ok(rows.iter().map(ServerRow::to_wire).collect())
}

pub fn list_instances(conn: &mut DbConn, stat: i32, count: i64) -> QueryResult<Vec<w::Instance>> {
    let mut query = instances::table.into_boxed();
    if stat != 0 {
        query = query.filter(instances::stat.eq(stat));
    }
    let rows: Vec<InstanceRow> = query.order(instances::id).limit(limit(count)).load(conn)?;
    let ips = server_ips(conn, rows.iter().map(|r| r.server_id))?;
    Ok(rows
        .iter()
        .map(|row| row.to_wire(ips.get(&row.server_id).map_or("", String::as_str)))
        .collect())
}

pub fn list_databases(conn: &mut DbConn, stat: i32, count: i64) -> QueryResult<Vec<w::Database>> {
    let mut query = dbs::table.into_boxed();
    if stat != 0 {
        query = query.filter(dbs::stat.eq(stat));
    }
    let rows: Vec<DatabaseRow> = query.order(dbs::id).limit(limit(count)).load(conn)?;
    let mut instance_ids: Vec<i64> = rows.iter().map(|r| r.instance_id).collect();
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
            let (server_id, port) = located.get(&row.instance_id).copied().unwrap_or((0, 0));
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
        .get_result(conn)
        .optional()
}

pub fn find_instance(conn: &mut DbConn, ip: &str, port: i32) -> QueryResult<Option<InstanceRow>> {
    instances::table
        .inner_join(servers::table)
        .filter(servers::ip.eq(ip))
        .filter(instances::port.eq(port))
        .select(instances::all_columns)
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
        .select(dbs::all_columns)
        .get_result(conn)
        .optional()
}

pub fn count_instances_of_server(conn: &mut DbConn, server_id: i64) -> QueryResult<i64> {
    instances::table
        .filter(instances::server_id.eq(server_id))
        .count()
        .get_result(conn)
}

pub fn count_databases_of_server(conn: &mut DbConn, server_id: i64) -> QueryResult<i64> {
    dbs::table
        .inner_join(instances::table)
        .filter(instances::server_id.eq(server_id))
        .count()
        .get_result(conn)
}

pub fn count_databases_of_instance(conn: &mut DbConn, instance_id: i64) -> QueryResult<i64> {
    dbs::table
        .filter(dbs::instance_id.eq(instance_id))
        .count()
        .get_result(conn)
}

pub fn instances_of_server(conn: &mut DbConn, server_id: i64) -> QueryResult<Vec<InstanceRow>> {
    instances::table
        .filter(instances::server_id.eq(server_id))
        .order(instances::id)
        .load(conn)
}

pub fn databases_of_instance(conn: &mut DbConn, instance_id: i64) -> QueryResult<Vec<DatabaseRow>> {
    dbs::table
        .filter(dbs::instance_id.eq(instance_id))
        .order(dbs::id)
        .load(conn)
}

pub fn server_by_id(conn: &mut DbConn, id: i64) -> QueryResult<ServerRow> {
    servers::table.find(id).get_result(conn)
}

pub fn instance_by_id(conn: &mut DbConn, id: i64) -> QueryResult<InstanceRow> {
    instances::table.find(id).get_result(conn)
}

pub fn database_by_id(conn: &mut DbConn, id: i64) -> QueryResult<DatabaseRow> {
    dbs::table.find(id).get_result(conn)
}

// ---- lookups of owners and businesses, created on first use ----

pub fn owner_id(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    if let Some(id) = owners::table
        .filter(owners::name.eq(name))
        .select(owners::id)
        .get_result(conn)
        .optional()?
    {
        return Ok(id);
    }
    diesel::insert_into(owners::table)
        .values(owners::name.eq(name))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn business_id(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    if let Some(id) = businesses::table
        .filter(businesses::name.eq(name))
        .select(businesses::id)
        .get_result(conn)
        .optional()?
    {
        return Ok(id);
    }
    diesel::insert_into(businesses::table)
        .values(businesses::name.eq(name))
        .execute(conn)?;
    last_insert_id(conn)
}

// ---- writes ----

/// A server's values apart from its id.
#[derive(Debug, Clone, Insertable, AsChangeset)]
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

#[derive(Debug, Clone, Insertable, AsChangeset)]
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

#[derive(Debug, Clone, Insertable, AsChangeset)]
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

pub fn insert_server(conn: &mut DbConn, values: &ServerValues) -> QueryResult<ServerRow> {
    diesel::insert_into(servers::table)
        .values(values)
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    server_by_id(conn, id)
}

pub fn update_server(conn: &mut DbConn, id: i64, values: &ServerValues) -> QueryResult<ServerRow> {
    diesel::update(servers::table.find(id))
        .set(values)
        .execute(conn)?;
    server_by_id(conn, id)
}

pub fn insert_instance(conn: &mut DbConn, values: &InstanceValues) -> QueryResult<InstanceRow> {
    diesel::insert_into(instances::table)
        .values(values)
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    instance_by_id(conn, id)
}

pub fn update_instance(
    conn: &mut DbConn,
    id: i64,
    values: &InstanceValues,
) -> QueryResult<InstanceRow> {
    diesel::update(instances::table.find(id))
        .set(values)
        .execute(conn)?;
    instance_by_id(conn, id)
}

pub fn insert_database(conn: &mut DbConn, values: &DatabaseValues) -> QueryResult<DatabaseRow> {
    diesel::insert_into(dbs::table)
        .values(values)
        .execute(conn)?;
    let id = last_insert_id(conn)?;
    database_by_id(conn, id)
}

pub fn update_database(
    conn: &mut DbConn,
    id: i64,
    values: &DatabaseValues,
) -> QueryResult<DatabaseRow> {
    diesel::update(dbs::table.find(id))
        .set(values)
        .execute(conn)?;
    database_by_id(conn, id)
}

pub fn delete_server(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(servers::table.find(id)).execute(conn)
}

pub fn delete_instance(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(instances::table.find(id)).execute(conn)
}

pub fn delete_database(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(dbs::table.find(id)).execute(conn)
}

// ---- audit log ----

#[derive(Debug, Clone, Insertable)]
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
}

#[derive(Debug, Clone, Queryable)]
pub struct AuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub model: String,
    pub action: String,
    pub entity: String,
    pub target: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub request_id: String,
}

impl AuditRow {
    pub fn to_wire(&self) -> w::AuditEntry {
        let parse =
            |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
        w::AuditEntry {
            id: self.id,
            at: format_date(&self.at),
            model: self.model.clone(),
            action: self.action.clone(),
            entity: self.entity.clone(),
            target: self.target.clone(),
            old_value: parse(&self.old_value),
            new_value: parse(&self.new_value),
            request_id: self.request_id.clone(),
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
