//! resource-pool: the DBA inventory of servers, MySQL instances and databases.
//!
//! Every seed function is a route `/api/<function>` (GET or POST; parameters from the query
//! string, a form or a JSON body). Every answer is a [`Reply`]: `code` 0 on success, one of
//! [`ErrorCode`] otherwise, `msg` in words, and `result` (the seed's return value).
//! Result keys are the seed's, spelling and all (see proto-docs/resource-pool.md).

use serde::{Deserialize, Serialize};

use crate::lenient;

/// The envelope of every resource-pool answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply<T> {
    pub code: i32,
    pub msg: String,
    pub result: Option<T>,
}

/// The seed's error code: 0 is success; the others are ours (the seed names none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Success = 0,
    /// A parameter is missing, malformed, out of range or unknown (HTTP 400).
    BadArgument = 1,
    /// The server, instance or database does not exist (HTTP 404).
    NotFound = 2,
    /// It already exists (HTTP 409).
    Duplicate = 3,
    /// Deleting it would orphan rows below it; ask for `cascade=1` (HTTP 409).
    InUse = 4,
    /// The inventory's own database cannot be reached (HTTP 503).
    Unavailable = 5,
    /// Anything else (HTTP 500).
    Internal = 6,
    /// No valid access token (HTTP 401).
    Unauthenticated = 7,
    /// The token's roles do not allow it (HTTP 403).
    Forbidden = 8,
}

impl ErrorCode {
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        use ErrorCode::*;
        [
            Success,
            BadArgument,
            NotFound,
            Duplicate,
            InUse,
            Unavailable,
            Internal,
            Unauthenticated,
            Forbidden,
        ]
        .into_iter()
        .find(|c| *c as i32 == code)
    }
}

/// `stat` of a server, instance or database: 1 online, 2 offline.
pub const STAT_ONLINE: i32 = 1;
pub const STAT_OFFLINE: i32 = 2;

/// Keys of `get_all_server` / `get_server_by_ip`. `owner` is the owner's id, `owner_name` its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Server {
    pub id: i64,
    pub ip: String,
    pub name: String,
    pub os: String,
    pub stat: i32,
    pub owner: Option<i64>,
    pub owner_name: String,
    pub online_date: String,
}

/// Keys of `get_all_instance` / `get_instance`. Here `owner_id` is the id and `owner` the name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: i64,
    pub ip: String,
    pub port: i32,
    pub server_id: i64,
    pub name: String,
    pub level: String,
    pub stat: i32,
    pub business_id: Option<i64>,
    pub business: String,
    pub owner_id: Option<i64>,
    pub owner: String,
    pub db_type: String,
    pub ha_type: String,
    pub online_date: String,
}

/// Keys of `get_all_db` / `get_database_by_name_instance`. `owner` is the id, `owner_name` the name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub id: i64,
    pub ip: String,
    pub port: i32,
    pub name: String,
    pub level: String,
    pub instance_id: i64,
    pub business_id: Option<i64>,
    pub business: String,
    pub owner: Option<i64>,
    pub owner_name: String,
    pub online_date: String,
    pub stat: i32,
}

/// The `**args` of `add_server` / `mod_server`. `server_online` is the online date
/// (`YYYY-mm-dd` or `YYYY-mm-dd HH:MM:SS`); `server_stat` (ours) sets 1 online / 2 offline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFields {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub server_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub server_online: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub server_owner: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub server_os: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_i32"
    )]
    pub server_stat: Option<i32>,
}

/// The `**args` of `add_instance` / `mod_instance`. The seed spells `instance_bussiness`;
/// `instance_business` is accepted too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFields {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub instance_level: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub instance_name: Option<String>,
    #[serde(
        default,
        rename = "instance_bussiness",
        alias = "instance_business",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub instance_business: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub instance_online: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub instance_owner: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub instance_dbtype: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub instance_hatype: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_i32"
    )]
    pub instance_stat: Option<i32>,
}

/// The `**args` of `add_database` / `mod_database`. In `mod_database`, `database_name` renames
/// the database and `database_ip` / `database_port` move it to another (existing) instance;
/// in `add_database` they must agree with `db`, `ip` and `port` when given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseFields {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub database_ip: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_i32"
    )]
    pub database_port: Option<i32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub database_name: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub database_level: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub database_owner: Option<String>,
    #[serde(
        default,
        alias = "database_bussiness",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub database_business: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_text"
    )]
    pub database_online: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_i32"
    )]
    pub database_stat: Option<i32>,
}

/// What a delete removed (more than one row only with `cascade=1`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    pub servers: u64,
    pub instances: u64,
    pub databases: u64,
}

/// One change to the inventory, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// UTC, `YYYY-mm-dd HH:MM:SS`.
    pub at: String,
    /// The seed's `model`: the module that made the call.
    pub model: String,
    /// `add`, `mod` or `del`.
    pub action: String,
    /// `server`, `instance` or `database`.
    pub entity: String,
    /// `ip` (server), `ip:port` (instance) or `ip:port/db` (database), the ip as written in the inventory.
    pub target: String,
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
    pub request_id: String,
    /// The verified subject of the access token that made the change (`model` is what the
    /// caller says of itself).
    #[serde(default)]
    pub who: String,
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub total: i64,
    pub page: u64,
    pub page_size: u64,
    pub entries: Vec<AuditEntry>,
}

/// Filters of `audit_log`; all optional. `since` / `until` are dates or date-times (UTC).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Changes made by this verified subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Entries about the server with this ip, its instances and their databases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u64>,
}

/// What `probe_instance` found when it connected to a listed MySQL instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub ip: String,
    pub port: i32,
    pub reachable: bool,
    pub version: Option<String>,
    pub uptime_seconds: Option<u64>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}
