//! The domain of resource-pool: validation, the auto-create chains, the refusals that keep
//! rows from being orphaned, and the audit log. Knows nothing of HTTP.

/// What `audit_log` filters by.
pub use crate::store::AuditQuery;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::mysql::MysqlConnection;
use diesel::{Connection, QueryResult, RunQueryDsl};
use kit::db::{Db, DbConn};
use kit::Page;
use serde::Serialize;
use wire::resource_pool as w;

use crate::config::ProbeConfig;
use crate::error::Error;
use crate::store::{self, DatabaseRow, InstanceRow, ServerRow};

pub const DEFAULT_PORT: i32 = 3306;
pub const DEFAULT_DB_TYPE: &str = "mysql";
pub const MAX_TEXT: usize = 255;
/// MySQL's own limit on a database name.
pub const MAX_DB_NAME: usize = 64;

/// Who is calling: the seed's `model`, and the request id, both kept in the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The verified subject of the access token.
    pub who: String,
    pub model: String,
    pub request_id: String,
}

/// An instance: its server's ip and its port.
#[derive(Debug, Clone)]
pub struct InstanceAt {
    pub ip: String,
    pub port: i32,
}

/// A database: its instance and its name.
#[derive(Debug, Clone)]
pub struct DatabaseAt {
    pub ip: String,
    pub port: i32,
    pub db: String,
}

#[derive(Clone)]
pub struct Inventory {
    db: Db,
    probe: ProbeConfig,
}

// ---- validation, with messages that name the field ----

pub fn parse_ip(field: &str, text: &str) -> Result<String, Error> {
    text.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| {
            Error::BadArgument(format!(
                "invalid parameter `{field}`: `{text}` is not an IPv4 or IPv6 address"
            ))
        })
}

pub fn check_port(field: &str, port: i64) -> Result<i32, Error> {
    if (1..=65535).contains(&port) {
        Ok(port as i32)
    } else {
        Err(Error::BadArgument(format!(
            "invalid parameter `{field}`: {port} is not a port (1-65535)"
        )))
    }
}

pub fn check_stat_filter(stat: i64) -> Result<i32, Error> {
    match stat {
        0..=2 => Ok(stat as i32),
        _ => Err(Error::BadArgument(format!(
            "invalid parameter `stat`: {stat} is not 0 (all), 1 (online) or 2 (offline)"
        ))),
    }
}

pub fn check_count(count: i64) -> Result<i64, Error> {
    if count >= 0 {
        Ok(count)
    } else {
        Err(Error::BadArgument(format!(
            "invalid parameter `count`: {count} is negative (0 means all)"
        )))
    }
}

fn check_stat_value(field: &str, stat: i32) -> Result<i32, Error> {
    match stat {
        w::STAT_ONLINE | w::STAT_OFFLINE => Ok(stat),
        _ => Err(Error::BadArgument(format!(
            "invalid parameter `{field}`: {stat} is not 1 (online) or 2 (offline)"
        ))),
    }
}

/// Accepts `YYYY-mm-dd`, `YYYY-mm-dd HH:MM:SS` and `YYYY-mm-ddTHH:MM:SS`.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDateTime, Error> {
    let text = text.trim();
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid parameter `{field}`: `{text}` is not a date (YYYY-mm-dd or YYYY-mm-dd HH:MM:SS)"
            ))
        })
}

fn check_text(field: &str, text: &str, max: usize) -> Result<String, Error> {
    if text.chars().count() > max {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{field}`: longer than {max} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{field}`: contains control characters"
        )));
    }
    Ok(text.trim().to_string())
}

pub fn check_db_name(field: &str, name: &str) -> Result<String, Error> {
    let name = check_text(field, name, MAX_DB_NAME)?;
    if name.is_empty() {
        return Err(Error::BadArgument(format!("missing parameter `{field}`")));
    }
    Ok(name)
}

fn opt_text(field: &str, value: &Option<String>) -> Result<Option<String>, Error> {
    value
        .as_deref()
        .map(|v| check_text(field, v, MAX_TEXT))
        .transpose()
}

fn opt_date(field: &str, value: &Option<String>) -> Result<Option<NaiveDateTime>, Error> {
    value.as_deref().map(|v| parse_date(field, v)).transpose()
}

fn opt_stat(field: &str, value: Option<i32>) -> Result<Option<i32>, Error> {
    value.map(|v| check_stat_value(field, v)).transpose()
}

fn now() -> NaiveDateTime {
    let at = Utc::now().naive_utc();
    // Whole seconds: what MySQL's DATETIME keeps, so both backends answer alike.
    at - Duration::from_nanos(u64::from(at.and_utc().timestamp_subsec_nanos()))
}

// ---- validated changes ----

#[derive(Debug, Default, PartialEq)]
struct ServerChange {
    name: Option<String>,
    online: Option<NaiveDateTime>,
    owner: Option<String>,
    os: Option<String>,
    stat: Option<i32>,
}

const SERVER_FIELDS: &str = "server_name, server_online, server_owner, server_os, server_stat";

impl ServerChange {
    fn parse(f: &w::ServerFields) -> Result<Self, Error> {
        Ok(ServerChange {
            name: opt_text("server_name", &f.server_name)?,
            online: opt_date("server_online", &f.server_online)?,
            owner: opt_text("server_owner", &f.server_owner)?,
            os: opt_text("server_os", &f.server_os)?,
            stat: opt_stat("server_stat", f.server_stat)?,
        })
    }

    fn apply(
        &self,
        conn: &mut DbConn,
        ip: &str,
        base: Option<&store::ServerValues>,
    ) -> QueryResult<store::ServerValues> {
        let old_owner = base.map(|b| (b.owner_id, &b.owner_name));
        let (owner_id, owner_name) = lookup(conn, &self.owner, old_owner, store::owner_id)?;
        Ok(store::ServerValues {
            ip: ip.to_string(),
            name: pick(&self.name, base.map(|b| &b.name)),
            os: pick(&self.os, base.map(|b| &b.os)),
            stat: stat_of(self.stat, base.map(|b| b.stat)),
            owner_id,
            owner_name,
            online_date: online_of(self.online, base.map(|b| b.online_date)),
        })
    }
}

#[derive(Debug, Default, PartialEq)]
struct InstanceChange {
    level: Option<String>,
    name: Option<String>,
    business: Option<String>,
    online: Option<NaiveDateTime>,
    owner: Option<String>,
    db_type: Option<String>,
    ha_type: Option<String>,
    stat: Option<i32>,
}

const INSTANCE_FIELDS: &str = "instance_level, instance_name, instance_bussiness, \
    instance_online, instance_owner, instance_dbtype, instance_hatype, instance_stat";

impl InstanceChange {
    fn parse(f: &w::InstanceFields) -> Result<Self, Error> {
        Ok(InstanceChange {
            level: opt_text("instance_level", &f.instance_level)?,
            name: opt_text("instance_name", &f.instance_name)?,
            business: opt_text("instance_bussiness", &f.instance_business)?,
            online: opt_date("instance_online", &f.instance_online)?,
            owner: opt_text("instance_owner", &f.instance_owner)?,
            db_type: opt_text("instance_dbtype", &f.instance_dbtype)?,
            ha_type: opt_text("instance_hatype", &f.instance_hatype)?,
            stat: opt_stat("instance_stat", f.instance_stat)?,
        })
    }

    fn apply(
        &self,
        conn: &mut DbConn,
        server_id: i64,
        port: i32,
        base: Option<&store::InstanceValues>,
    ) -> QueryResult<store::InstanceValues> {
        let old_owner = base.map(|b| (b.owner_id, &b.owner));
        let (owner_id, owner) = lookup(conn, &self.owner, old_owner, store::owner_id)?;
        let old_business = base.map(|b| (b.business_id, &b.business));
        let (business_id, business) =
            lookup(conn, &self.business, old_business, store::business_id)?;
        Ok(store::InstanceValues {
            server_id,
            port,
            name: pick(&self.name, base.map(|b| &b.name)),
            level: pick(&self.level, base.map(|b| &b.level)),
            stat: stat_of(self.stat, base.map(|b| b.stat)),
            business_id,
            business,
            owner_id,
            owner,
            db_type: match (&self.db_type, base) {
                (Some(t), _) => t.clone(),
                (None, Some(b)) => b.db_type.clone(),
                (None, None) => DEFAULT_DB_TYPE.to_string(),
            },
            ha_type: pick(&self.ha_type, base.map(|b| &b.ha_type)),
            online_date: online_of(self.online, base.map(|b| b.online_date)),
        })
    }
}

#[derive(Debug, Default, PartialEq)]
struct DatabaseChange {
    ip: Option<String>,
    port: Option<i32>,
    name: Option<String>,
    level: Option<String>,
    owner: Option<String>,
    business: Option<String>,
    online: Option<NaiveDateTime>,
    stat: Option<i32>,
}

const DATABASE_FIELDS: &str = "database_ip, database_port, database_name, database_level, \
    database_owner, database_business, database_online, database_stat";

impl DatabaseChange {
    fn parse(f: &w::DatabaseFields) -> Result<Self, Error> {
        Ok(DatabaseChange {
            ip: f
                .database_ip
                .as_deref()
                .map(|ip| parse_ip("database_ip", ip))
                .transpose()?,
            port: f
                .database_port
                .map(|p| check_port("database_port", i64::from(p)))
                .transpose()?,
            name: f
                .database_name
                .as_deref()
                .map(|n| check_db_name("database_name", n))
                .transpose()?,
            level: opt_text("database_level", &f.database_level)?,
            owner: opt_text("database_owner", &f.database_owner)?,
            business: opt_text("database_business", &f.database_business)?,
            online: opt_date("database_online", &f.database_online)?,
            stat: opt_stat("database_stat", f.database_stat)?,
        })
    }

    fn apply(
        &self,
        conn: &mut DbConn,
        instance_id: i64,
        name: &str,
        base: Option<&store::DatabaseValues>,
    ) -> QueryResult<store::DatabaseValues> {
        let old_owner = base.map(|b| (b.owner_id, &b.owner_name));
        let (owner_id, owner_name) = lookup(conn, &self.owner, old_owner, store::owner_id)?;
        let old_business = base.map(|b| (b.business_id, &b.business));
        let (business_id, business) =
            lookup(conn, &self.business, old_business, store::business_id)?;
        Ok(store::DatabaseValues {
            instance_id,
            name: name.to_string(),
            level: pick(&self.level, base.map(|b| &b.level)),
            stat: stat_of(self.stat, base.map(|b| b.stat)),
            business_id,
            business,
            owner_id,
            owner_name,
            online_date: online_of(self.online, base.map(|b| b.online_date)),
        })
    }
}

/// Refuses a `mod_*` that changes nothing; `fields` lists what it could change.
fn require_change<C: Default + PartialEq>(change: C, fields: &str) -> Result<C, Error> {
    if change == C::default() {
        return Err(Error::BadArgument(format!(
            "nothing to change: give at least one of {fields}"
        )));
    }
    Ok(change)
}

fn pick(new: &Option<String>, old: Option<&String>) -> String {
    new.clone().or_else(|| old.cloned()).unwrap_or_default()
}

/// A new row is online unless told otherwise.
fn stat_of(new: Option<i32>, old: Option<i32>) -> i32 {
    new.or(old).unwrap_or(w::STAT_ONLINE)
}

/// A new row went online now unless told otherwise.
fn online_of(new: Option<NaiveDateTime>, old: Option<NaiveDateTime>) -> NaiveDateTime {
    new.or(old).unwrap_or_else(now)
}

/// An owner or business (id and name): the new name if given (empty clears it, otherwise it
/// is found or created), else the old one.
fn lookup(
    conn: &mut DbConn,
    new: &Option<String>,
    old: Option<(Option<i64>, &String)>,
    find_or_create: fn(&mut DbConn, &str) -> QueryResult<i64>,
) -> QueryResult<(Option<i64>, String)> {
    match new {
        Some(name) if name.is_empty() => Ok((None, String::new())),
        Some(name) => Ok((Some(find_or_create(conn, name)?), name.clone())),
        None => Ok(old.map(|(id, name)| (id, name.clone())).unwrap_or_default()),
    }
}

// ---- audit ----

fn server_target(ip: &str) -> String {
    ip.to_string()
}

fn instance_target(ip: &str, port: i32) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn database_target(ip: &str, port: i32, db: &str) -> String {
    format!("{}/{db}", instance_target(ip, port))
}

/// Logs one change: an add has only `new`, a delete only `old`, a modification both.
fn audit<T: Serialize>(
    conn: &mut DbConn,
    caller: &Caller,
    entity: &str,
    target: String,
    old: Option<&T>,
    new: Option<&T>,
) -> QueryResult<()> {
    let action = match (old, new) {
        (None, _) => "add",
        (Some(_), Some(_)) => "mod",
        (Some(_), None) => "del",
    };
    let json = |v: Option<&T>| v.and_then(|v| serde_json::to_string(v).ok());
    store::insert_audit(
        conn,
        &store::NewAuditEntry {
            at: now(),
            model: caller.model.clone(),
            action: action.into(),
            entity: entity.into(),
            target,
            old_value: json(old),
            new_value: json(new),
            request_id: caller.request_id.clone(),
            who: caller.who.clone(),
        },
    )
}

// ---- rows that must, or must not, exist ----

fn existing_server(conn: &mut DbConn, ip: &str) -> Result<ServerRow, Error> {
    store::find_server(conn, ip)?.ok_or_else(|| Error::NotFound(format!("no server with ip {ip}")))
}

fn existing_instance(conn: &mut DbConn, ip: &str, port: i32) -> Result<InstanceRow, Error> {
    store::find_instance(conn, ip, port)?
        .ok_or_else(|| Error::NotFound(format!("no instance {}", instance_target(ip, port))))
}

fn existing_database(
    conn: &mut DbConn,
    ip: &str,
    port: i32,
    db: &str,
) -> Result<DatabaseRow, Error> {
    store::find_database(conn, ip, port, db)?
        .ok_or_else(|| Error::NotFound(format!("no database {}", database_target(ip, port, db))))
}

/// Refuses to add what is there already; `what` is e.g. `server 10.0.0.1`.
fn refuse_existing<Row>(found: Option<Row>, what: impl FnOnce() -> String) -> Result<(), Error> {
    match found {
        Some(_) => Err(Error::Duplicate(format!("{} already exists", what()))),
        None => Ok(()),
    }
}

/// Finds the server, or adds it (and audits that) for the auto-create chains.
fn server_or_add(conn: &mut DbConn, caller: &Caller, ip: &str) -> Result<ServerRow, Error> {
    if let Some(server) = store::find_server(conn, ip)? {
        return Ok(server);
    }
    let values = ServerChange::default().apply(conn, ip, None)?;
    let added = store::insert_server(conn, &values)?;
    audit(
        conn,
        caller,
        "server",
        server_target(ip),
        None,
        Some(&added.to_wire()),
    )?;
    Ok(added)
}

/// Finds the instance, or adds it (and its server) for `add_database`.
fn instance_or_add(
    conn: &mut DbConn,
    caller: &Caller,
    ip: &str,
    port: i32,
) -> Result<InstanceRow, Error> {
    if let Some(instance) = store::find_instance(conn, ip, port)? {
        return Ok(instance);
    }
    let server = server_or_add(conn, caller, ip)?;
    let values = InstanceChange::default().apply(conn, server.id, port, None)?;
    let added = store::insert_instance(conn, &values)?;
    let target = instance_target(ip, port);
    audit(
        conn,
        caller,
        "instance",
        target,
        None,
        Some(&added.to_wire(ip)),
    )?;
    Ok(added)
}

type List<T> = fn(&mut DbConn, i32, i64) -> QueryResult<Vec<T>>;

impl Inventory {
    pub fn new(db: Db, probe: ProbeConfig) -> Self {
        Inventory { db, probe }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    // ---- the seed's reads ----

    /// The first `count` rows (0: all) of one `stat` (0: any).
    async fn list<T: Send + 'static>(
        &self,
        list: List<T>,
        stat: i32,
        count: i64,
    ) -> Result<Vec<T>, Error> {
        self.db.read(move |c| Ok(list(c, stat, count)?)).await
    }

    pub async fn all_servers(&self, stat: i32, count: i64) -> Result<Vec<w::Server>, Error> {
        self.list(store::list_servers, stat, count).await
    }

    pub async fn all_instances(&self, stat: i32, count: i64) -> Result<Vec<w::Instance>, Error> {
        self.list(store::list_instances, stat, count).await
    }

    pub async fn all_databases(&self, stat: i32, count: i64) -> Result<Vec<w::Database>, Error> {
        self.list(store::list_databases, stat, count).await
    }

    pub async fn server(&self, ip: String) -> Result<w::Server, Error> {
        self.db
            .read(move |c| Ok(existing_server(c, &ip)?.to_wire()))
            .await
    }

    pub async fn instance(&self, at: InstanceAt) -> Result<w::Instance, Error> {
        let InstanceAt { ip, port } = at;
        self.db
            .read(move |c| Ok(existing_instance(c, &ip, port)?.to_wire(&ip)))
            .await
    }

    pub async fn database(&self, at: DatabaseAt) -> Result<w::Database, Error> {
        let DatabaseAt { ip, port, db } = at;
        self.db
            .read(move |c| Ok(existing_database(c, &ip, port, &db)?.to_wire(&ip, port)))
            .await
    }

    // ---- servers ----

    pub async fn add_server(
        &self,
        caller: Caller,
        ip: String,
        fields: w::ServerFields,
    ) -> Result<w::Server, Error> {
        let change = ServerChange::parse(&fields)?;
        self.db
            .write(move |c| {
                refuse_existing(store::find_server(c, &ip)?, || format!("server {ip}"))?;
                let values = change.apply(c, &ip, None)?;
                let added = store::insert_server(c, &values)?.to_wire();
                audit(c, &caller, "server", server_target(&ip), None, Some(&added))?;
                Ok(added)
            })
            .await
    }

    pub async fn mod_server(
        &self,
        caller: Caller,
        ip: String,
        fields: w::ServerFields,
    ) -> Result<w::Server, Error> {
        let change = require_change(ServerChange::parse(&fields)?, SERVER_FIELDS)?;
        self.db
            .write(move |c| {
                let old = existing_server(c, &ip)?;
                let values = change.apply(c, &ip, Some(&old.values))?;
                let new = store::update_server(c, old.id, &values)?.to_wire();
                let old = old.to_wire();
                audit(
                    c,
                    &caller,
                    "server",
                    server_target(&ip),
                    Some(&old),
                    Some(&new),
                )?;
                Ok(new)
            })
            .await
    }

    pub async fn del_server(
        &self,
        caller: Caller,
        ip: String,
        cascade: bool,
    ) -> Result<w::Deleted, Error> {
        self.db
            .write(move |c| {
                let server = existing_server(c, &ip)?;
                let instances = store::count_instances_of_server(c, server.id)?;
                if instances > 0 && !cascade {
                    let databases = store::count_databases_of_server(c, server.id)?;
                    return Err(Error::InUse(format!(
                        "server {ip} still has {instances} instance(s) and {databases} database(s); \
                         pass cascade=1 to delete them with it"
                    )));
                }
                let mut deleted = w::Deleted::default();
                for instance in store::instances_of_server(c, server.id)? {
                    deleted.databases += delete_instance(c, &caller, &ip, &instance)?;
                    deleted.instances += 1;
                }
                store::delete_server(c, server.id)?;
                let old = server.to_wire();
                audit(c, &caller, "server", server_target(&ip), Some(&old), None)?;
                deleted.servers = 1;
                Ok(deleted)
            })
            .await
    }

    // ---- instances ----

    pub async fn add_instance(
        &self,
        caller: Caller,
        InstanceAt { ip, port }: InstanceAt,
        fields: w::InstanceFields,
    ) -> Result<w::Instance, Error> {
        let change = InstanceChange::parse(&fields)?;
        self.db
            .write(move |c| {
                let target = instance_target(&ip, port);
                refuse_existing(store::find_instance(c, &ip, port)?, || {
                    format!("instance {target}")
                })?;
                let server = server_or_add(c, &caller, &ip)?;
                let values = change.apply(c, server.id, port, None)?;
                let added = store::insert_instance(c, &values)?.to_wire(&ip);
                audit(c, &caller, "instance", target, None, Some(&added))?;
                Ok(added)
            })
            .await
    }

    pub async fn mod_instance(
        &self,
        caller: Caller,
        InstanceAt { ip, port }: InstanceAt,
        fields: w::InstanceFields,
    ) -> Result<w::Instance, Error> {
        let change = require_change(InstanceChange::parse(&fields)?, INSTANCE_FIELDS)?;
        self.db
            .write(move |c| {
                let old = existing_instance(c, &ip, port)?;
                let values = change.apply(c, old.values.server_id, port, Some(&old.values))?;
                let new = store::update_instance(c, old.id, &values)?.to_wire(&ip);
                let (target, old) = (instance_target(&ip, port), old.to_wire(&ip));
                audit(c, &caller, "instance", target, Some(&old), Some(&new))?;
                Ok(new)
            })
            .await
    }

    pub async fn del_instance(
        &self,
        caller: Caller,
        InstanceAt { ip, port }: InstanceAt,
        cascade: bool,
    ) -> Result<w::Deleted, Error> {
        self.db
            .write(move |c| {
                let instance = existing_instance(c, &ip, port)?;
                let databases = store::count_databases_of_instance(c, instance.id)?;
                if databases > 0 && !cascade {
                    return Err(Error::InUse(format!(
                        "instance {} still has {databases} database(s); pass cascade=1 to delete them with it",
                        instance_target(&ip, port)
                    )));
                }
                Ok(w::Deleted {
                    databases: delete_instance(c, &caller, &ip, &instance)?,
                    instances: 1,
                    ..Default::default()
                })
            })
            .await
    }

    // ---- databases ----

    pub async fn add_database(
        &self,
        caller: Caller,
        DatabaseAt { ip, port, db }: DatabaseAt,
        fields: w::DatabaseFields,
    ) -> Result<w::Database, Error> {
        let change = DatabaseChange::parse(&fields)?;
        // In add_database the location keys may only repeat the positional arguments.
        let disagree = |field: &str, given: String, positional: String| {
            Error::BadArgument(format!(
                "invalid parameter `{field}`: `{given}` disagrees with `{positional}`; leave it out when adding"
            ))
        };
        if let Some(other) = change.ip.as_ref().filter(|other| **other != ip) {
            return Err(disagree("database_ip", other.clone(), ip));
        }
        if let Some(other) = change.port.filter(|other| *other != port) {
            return Err(disagree(
                "database_port",
                other.to_string(),
                port.to_string(),
            ));
        }
        if let Some(other) = change.name.as_ref().filter(|other| **other != db) {
            return Err(disagree("database_name", other.clone(), db));
        }
        self.db
            .write(move |c| {
                let target = database_target(&ip, port, &db);
                refuse_existing(store::find_database(c, &ip, port, &db)?, || {
                    format!("database {target}")
                })?;
                let instance = instance_or_add(c, &caller, &ip, port)?;
                let values = change.apply(c, instance.id, &db, None)?;
                let added = store::insert_database(c, &values)?.to_wire(&ip, port);
                audit(c, &caller, "database", target, None, Some(&added))?;
                Ok(added)
            })
            .await
    }

    pub async fn mod_database(
        &self,
        caller: Caller,
        DatabaseAt { ip, port, db }: DatabaseAt,
        fields: w::DatabaseFields,
    ) -> Result<w::Database, Error> {
        let change = require_change(DatabaseChange::parse(&fields)?, DATABASE_FIELDS)?;
        self.db
            .write(move |c| {
                let old = existing_database(c, &ip, port, &db)?;
                let new_ip = change.ip.clone().unwrap_or_else(|| ip.clone());
                let new_port = change.port.unwrap_or(port);
                let new_name = change.name.clone().unwrap_or_else(|| db.clone());
                let instance_id = if (new_ip.as_str(), new_port) == (ip.as_str(), port) {
                    old.values.instance_id
                } else {
                    existing_instance(c, &new_ip, new_port)?.id
                };
                let moved_or_renamed = instance_id != old.values.instance_id || new_name != db;
                if moved_or_renamed {
                    refuse_existing(
                        store::find_database(c, &new_ip, new_port, &new_name)?,
                        || format!("database {}", database_target(&new_ip, new_port, &new_name)),
                    )?;
                }
                let values = change.apply(c, instance_id, &new_name, Some(&old.values))?;
                let new = store::update_database(c, old.id, &values)?.to_wire(&new_ip, new_port);
                let (target, old) = (database_target(&ip, port, &db), old.to_wire(&ip, port));
                audit(c, &caller, "database", target, Some(&old), Some(&new))?;
                Ok(new)
            })
            .await
    }

    pub async fn del_database(
        &self,
        caller: Caller,
        DatabaseAt { ip, port, db }: DatabaseAt,
    ) -> Result<w::Deleted, Error> {
        self.db
            .write(move |c| {
                let old = existing_database(c, &ip, port, &db)?;
                delete_database(c, &caller, &ip, port, &db, &old)?;
                Ok(w::Deleted {
                    databases: 1,
                    ..Default::default()
                })
            })
            .await
    }

    // ---- beyond the seed ----

    pub async fn audit_log(&self, query: AuditQuery, page: Page) -> Result<w::AuditPage, Error> {
        self.db
            .read(move |c| {
                let (total, rows) = store::list_audit(c, &query, page.offset(), page.limit())?;
                Ok(w::AuditPage {
                    total,
                    page: page.page,
                    page_size: page.page_size,
                    entries: rows.iter().map(store::AuditRow::to_wire).collect(),
                })
            })
            .await
    }

    /// Connects to a listed instance with the configured account; unreachable is a report, not an error.
    pub async fn probe(&self, at: InstanceAt) -> Result<w::ProbeReport, Error> {
        self.instance(at.clone()).await?;
        let InstanceAt { ip, port } = at;
        let url = probe_url(&self.probe, &ip, port);
        let timeout = Duration::from_secs(self.probe.timeout_secs);
        let started = Instant::now();
        let attempt = tokio::task::spawn_blocking(move || probe_mysql(&url));
        let outcome = match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) => Err(format!("probe failed: {join}")),
            Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(match outcome {
            Ok((version, uptime)) => w::ProbeReport {
                ip,
                port,
                reachable: true,
                version: Some(version),
                uptime_seconds: uptime,
                error: None,
                elapsed_ms,
            },
            Err(error) => w::ProbeReport {
                ip,
                port,
                reachable: false,
                version: None,
                uptime_seconds: None,
                error: Some(error),
                elapsed_ms,
            },
        })
    }
}

/// Deletes (and audits) an instance and every database of it; returns how many databases.
fn delete_instance(
    conn: &mut DbConn,
    caller: &Caller,
    ip: &str,
    instance: &InstanceRow,
) -> Result<u64, Error> {
    let port = instance.values.port;
    let mut count = 0;
    for database in store::databases_of_instance(conn, instance.id)? {
        delete_database(conn, caller, ip, port, &database.values.name, &database)?;
        count += 1;
    }
    store::delete_instance(conn, instance.id)?;
    let (target, old) = (instance_target(ip, port), instance.to_wire(ip));
    audit(conn, caller, "instance", target, Some(&old), None)?;
    Ok(count)
}

/// Deletes (and audits) one database; `db` is its name as the caller wrote it.
fn delete_database(
    conn: &mut DbConn,
    caller: &Caller,
    ip: &str,
    port: i32,
    db: &str,
    database: &DatabaseRow,
) -> Result<(), Error> {
    store::delete_database(conn, database.id)?;
    let (target, old) = (database_target(ip, port, db), database.to_wire(ip, port));
    audit(conn, caller, "database", target, Some(&old), None)?;
    Ok(())
}

fn probe_url(probe: &ProbeConfig, ip: &str, port: i32) -> String {
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    let credentials = if probe.password.is_empty() {
        percent_encode(&probe.user)
    } else {
        format!(
            "{}:{}",
            percent_encode(&probe.user),
            percent_encode(probe.password.expose_secret())
        )
    };
    format!("mysql://{credentials}@{host}:{port}/")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(diesel::QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "Value")]
    value: String,
}

#[derive(diesel::QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn probe_mysql(url: &str) -> Result<(String, Option<u64>), String> {
    let mut conn = MysqlConnection::establish(url).map_err(|e| e.to_string())?;
    conn.batch_execute("SET SESSION wait_timeout = 10")
        .map_err(|e| e.to_string())?;
    let version: VersionRow = diesel::sql_query("SELECT VERSION() AS version")
        .get_result(&mut conn)
        .map_err(|e| e.to_string())?;
    let uptime: Option<StatusRow> = diesel::sql_query("SHOW GLOBAL STATUS LIKE 'Uptime'")
        .get_result(&mut conn)
        .ok();
    Ok((
        version.version,
        uptime.and_then(|row| row.value.parse().ok()),
    ))
}

#[cfg(test)]
mod tests;
