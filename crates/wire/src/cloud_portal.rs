//! cloud-portal: users, sessions, images, hosts and VM instances (LuoYunCloud's API).
//!
//! Requests are key-value parameters (a form body, as the seed's clients send, or JSON or a
//! query string). Every answer is an [`Envelope`]: `code` 0 on success, one of [`Code`]
//! otherwise, `desc` in words, and the route's own keys beside them, flattened into the same
//! JSON object (`{"code":0,"desc":"Welcome to LYC.","session_key":"..."}`).
//! See proto-docs/cloud-portal.md.

use serde::{Deserialize, Serialize};

/// The envelope of every cloud-portal answer; `body`'s keys sit beside `code` and `desc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub code: i32,
    pub desc: String,
    #[serde(flatten)]
    pub body: T,
}

/// An answer with no keys beyond `code` and `desc`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

/// `code` of an answer. The original system answered every failure with 1; 1 keeps the
/// seed's meaning ("someone else's"), the others are ours so that callers can tell failures apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Success = 0,
    /// The caller may not do this: someone else's instance, not an admin, not a service account.
    Refused = 1,
    /// No session key, an unknown one, or an expired one: "Requires authentication".
    RequiresAuthentication = 2,
    /// A parameter is missing, malformed, out of range or unknown.
    BadArgument = 3,
    /// The instance, image, user or host does not exist.
    NotFound = 4,
    /// Wrong username or password (the same answer for both).
    LoginFailed = 5,
    /// Too many failed logins for this username from this address: wait and retry.
    LoginThrottled = 6,
    /// The request conflicts with the current state: an impossible transition, a duplicate name.
    Conflict = 7,
    /// No host of the pool has a free slot.
    NoCapacity = 8,
    /// The portal's own database cannot be reached.
    Unavailable = 9,
    /// Anything else.
    Internal = 10,
}

impl Code {
    pub fn from_code(code: i64) -> Option<Code> {
        use Code::*;
        [
            Success,
            Refused,
            RequiresAuthentication,
            BadArgument,
            NotFound,
            LoginFailed,
            LoginThrottled,
            Conflict,
            NoCapacity,
            Unavailable,
            Internal,
        ]
        .into_iter()
        .find(|c| *c as i64 == code)
    }
}

// ---- instance status: the original system's codes and strings, kept exactly ----

pub const STATUS_UNKNOWN: i32 = 0;
pub const STATUS_NEW: i32 = 1;
pub const STATUS_STOPPED: i32 = 2;
pub const STATUS_RUNNING: i32 = 3;
pub const STATUS_OSM_CONNECTED: i32 = 4;
pub const STATUS_APP_RUNNING: i32 = 5;
pub const STATUS_SUSPEND: i32 = 9;
pub const STATUS_DELETED: i32 = 100;
pub const STATUS_NEEDS_QUERY: i32 = 245;
pub const STATUS_DISK_MISSING: i32 = 255;

/// The original's `status_string` of a status code; "Unknown Status" for anything else.
pub fn status_string(status: i32) -> &'static str {
    match status {
        STATUS_UNKNOWN => "unknown",
        STATUS_NEW => "new instance that hasn't run once",
        STATUS_STOPPED => "instance is stopped",
        STATUS_RUNNING => "instance is started by hypervisor",
        STATUS_OSM_CONNECTED => "osm in instance connected",
        STATUS_APP_RUNNING => "application is running",
        STATUS_SUSPEND => "instance is suspend",
        STATUS_DELETED => "instance is deleted",
        STATUS_NEEDS_QUERY => "instance needs queryed",
        STATUS_DISK_MISSING => "the instance disk does not exist",
        _ => "Unknown Status",
    }
}

/// `vdi_type` of `/api/instance/baseinfo`: 1 is SPICE, the only one the original knew.
pub const VDI_SPICE: i32 = 1;

// ---- the seed's answers ----

/// `POST /api/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Login {
    pub session_key: String,
}

/// `POST /api/instance/baseinfo`. `port` is the VDI port, null when the driver has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaseInfo {
    pub instance_id: i64,
    pub vdi_type: i32,
    pub host: Option<String>,
    pub port: Option<i32>,
}

/// One row of `POST /api/myun/instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedInstance {
    pub id: i64,
    pub name: String,
    pub summary: Option<String>,
    pub status: i32,
    pub status_string: String,
}

/// `POST /api/myun/instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceList {
    pub list: Vec<ListedInstance>,
}

// ---- ours: lifecycle, service and admin answers ----

/// An instance as the lifecycle, service and admin routes show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: i64,
    pub name: String,
    pub summary: Option<String>,
    pub owner_id: i64,
    pub image_id: i64,
    pub status: i32,
    pub status_string: String,
    /// The address of the host the instance lives on (its IP for the host-pool driver);
    /// null once deleted.
    pub host: Option<String>,
    pub host_id: Option<i64>,
    /// The VDI port, null when the driver has none (the host-pool driver has none).
    pub port: Option<i32>,
}

/// `POST /api/instance/{create,run,stop,reboot,delete,query}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceReply {
    pub instance: Instance,
}

/// `POST /api/service/instance/create`: the new instances, running, with their addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstancesReply {
    pub instances: Vec<Instance>,
}

/// `POST /api/service/instance/return`: the ids given back (deleted, their hosts released).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    pub returned: Vec<i64>,
}

/// `role` of a user: an ordinary user, an administrator, or a service account (the orchestrator).
pub const ROLE_USER: &str = "user";
pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_SERVICE: &str = "service";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserReply {
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<User>,
}

/// An image (VM template); the orchestrator's `vm_type` names one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub id: i64,
    pub name: String,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageReply {
    pub image: Image,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageList {
    pub images: Vec<Image>,
}

/// A host of the host-pool driver: `used` of its `capacity` slots are leased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub id: i64,
    pub address: String,
    pub ssh_port: i32,
    pub capacity: i32,
    pub used: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReply {
    pub host: Host,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostList {
    pub hosts: Vec<Host>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_flatten_their_body() {
        let reply = Envelope {
            code: 0,
            desc: "Welcome to LYC.".into(),
            body: Login {
                session_key: "ab".into(),
            },
        };
        let text = serde_json::to_value(&reply).expect("serializes");
        assert_eq!(
            text,
            serde_json::json!({"code": 0, "desc": "Welcome to LYC.", "session_key": "ab"})
        );
    }

    #[test]
    fn status_strings_are_the_originals() {
        assert_eq!(status_string(1), "new instance that hasn't run once");
        assert_eq!(status_string(245), "instance needs queryed");
        assert_eq!(status_string(7), "Unknown Status");
    }
}

/// An API token as listed (never the token itself). Times are milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub owner: String,
    /// The platform roles it carries.
    pub roles: Vec<String>,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// When a service last accepted it (reported at their next poll of the revoked list).
    pub last_used_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    pub revoked_by: Option<String>,
}

/// `/api/token/create`: the token, shown this once, and what is kept of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedApiToken {
    pub token: String,
    pub api_token: ApiToken,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiTokenList {
    pub api_tokens: Vec<ApiToken>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiTokenReply {
    pub api_token: ApiToken,
}
