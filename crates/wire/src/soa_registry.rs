//! soa-registry: services and their servers in ZooKeeper under `/soa/services`.
//!
//! Routes (`servicelist/`, `addservice/`, `delservice/`, `serverlist/`, `addserver/`,
//! `delserver/`) answer `{"code":1, ...}` on success and [`Failure`] (`{"code":0,"reason":..}`)
//! otherwise, as the seed says. [`Member`] is the data of a server's znode: the Twitter
//! ServerSet JSON format, so that ServerSet readers find these servers unchanged.
//! See proto-docs/soa-registry.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `code` of a successful answer.
pub const CODE_SUCCESS: i32 = 1;
/// `code` of a failed answer.
pub const CODE_FAILURE: i32 = 0;

/// Every failure: `{"code": 0, "reason": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub code: i32,
    pub reason: String,
}

/// `servicelist/`: `{"code":1,"services":[{"service":"ip2city.http"}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceList {
    pub code: i32,
    pub services: Vec<ServiceEntry>,
    /// Present only when the answer is the last view kept while ZooKeeper cannot be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
}

/// The mark of a read answered from the last view while ZooKeeper cannot be reached:
/// `"stale": {"age_seconds": 12.5, "reason": "ZooKeeper unavailable (...): ..."}`. Also sent as
/// the headers [`STALE_HEADER`] (the same seconds) and `Age` (whole seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stale {
    /// Seconds (millisecond precision) since the view was last known to be current.
    pub age_seconds: f64,
    /// Why it is not fresh.
    pub reason: String,
}

/// The header of a stale read: its age in seconds, e.g. `12.500`.
pub const STALE_HEADER: &str = "X-Dcp-Stale-Seconds";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub service: String,
}

/// `serverlist/`: `{"code":1,"servers":[{"host":..,"port":..,"key":"member_0000000001"}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerList {
    pub code: i32,
    pub servers: Vec<ServerEntry>,
    /// Present only when the answer is the last view kept while ZooKeeper cannot be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<Stale>,
}

/// One member of a service. `host`, `port` and `key` are the seed's; `status` and `shard`
/// come from the ServerSet data. A member whose data cannot be read is still listed, with
/// `status` [`STATUS_UNPARSABLE`], `host` empty, `port` 0 and `error` saying why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerEntry {
    pub host: String,
    pub port: u16,
    pub key: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `status` of a listed member whose znode data is not a ServerSet document.
pub const STATUS_UNPARSABLE: &str = "UNPARSABLE";

/// The answer of the writes: `{"code":1}`; `addserver/` adds the member's `key`, and says
/// with `existed` whether that host:port was already registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub code: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existed: Option<bool>,
}

/// The data of a member znode, in the ServerSet format:
/// `{"serviceEndpoint":{"host":"10.0.0.1","port":8080},"additionalEndpoints":{},"status":"ALIVE"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    #[serde(rename = "serviceEndpoint")]
    pub service_endpoint: Endpoint,
    #[serde(rename = "additionalEndpoints", default)]
    pub additional_endpoints: BTreeMap<String, Endpoint>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

/// ServerSet member status (Twitter's `com.twitter.thrift.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Dead,
    Starting,
    Alive,
    Stopping,
    Stopped,
    Warning,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Dead,
        Status::Starting,
        Status::Alive,
        Status::Stopping,
        Status::Stopped,
        Status::Warning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Dead => "DEAD",
            Status::Starting => "STARTING",
            Status::Alive => "ALIVE",
            Status::Stopping => "STOPPING",
            Status::Stopped => "STOPPED",
            Status::Warning => "WARNING",
        }
    }

    /// Reads a status in any letter case (the original admin wrote `"Alive"` style values too).
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_json_is_the_serverset_format() {
        let member = Member {
            service_endpoint: Endpoint {
                host: "10.0.0.1".into(),
                port: 8080,
            },
            additional_endpoints: BTreeMap::new(),
            status: Status::Alive,
            shard: None,
        };
        let text = serde_json::to_string(&member).expect("serializes");
        assert_eq!(
            text,
            r#"{"serviceEndpoint":{"host":"10.0.0.1","port":8080},"additionalEndpoints":{},"status":"ALIVE"}"#
        );
    }

    #[test]
    fn status_parses_in_any_case() {
        assert_eq!(Status::parse("alive"), Some(Status::Alive));
        assert_eq!(Status::parse("STOPPING"), Some(Status::Stopping));
        assert_eq!(Status::parse("gone"), None);
    }
}
