//! The configuration of soa-registry: defaults here < TOML file < `DCP_*` environment.
//!
//! ```toml
//! [zkidcs]                       # zkidc name -> ZooKeeper connect string (chroot allowed), or "embedded"
//! qa = "zk1:2181,zk2:2181/dcp"
//! g1 = "embedded"
//! [[keys]]                       # API keys; `zkidcs` empty = valid for every zkidc
//! key = "1122-3434"
//! owner = "ops"
//! zkidcs = ["qa"]
//! [service_zkidcs]               # bearer tokens of peer services: subject -> zkidcs it may use
//! "task-engine" = ["qa"]         # (a service subject not named here may use none)
//! [health]                       # the optional TCP check of members (off by default)
//! enabled = false                # for every zkidc...
//! zkidcs = { qa = true }         # ...unless named here
//! ```

use std::collections::BTreeMap;

use kit::config::{ConfigError, HttpConfig, LogConfig, Validate};
use kit::secret::Secret;
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8006;
/// The `zkidcs` value that selects the in-process store instead of a ZooKeeper ensemble.
pub const EMBEDDED: &str = "embedded";
/// The key of the default configuration, for `make run` only (documented in proto-docs).
pub const DEMO_KEY: &str = "demo-key";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub log: LogConfig,
    /// The platform's bearer tokens: which issuer this service trusts.
    #[serde(default)]
    pub auth: kit::auth::AuthConfig,
    pub store: StoreConfig,
    /// zkidc name -> `host:port[,host:port...][/chroot]` or `embedded`.
    pub zkidcs: BTreeMap<String, String>,
    pub keys: Vec<ApiKey>,
    /// Least privilege for peer services: the zkidcs each service subject (a bearer token
    /// that reaches a route by its `service` role alone) may use; a service not named may use
    /// none. People's tokens and the seed's keys are not limited by this.
    #[serde(default)]
    pub service_zkidcs: BTreeMap<String, Vec<String>>,
    pub health: HealthConfig,
}

/// The TCP health check of members (see `health.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthConfig {
    /// Whether zkidcs not named in `zkidcs` are checked.
    pub enabled: bool,
    /// Per zkidc: checked or not, whatever `enabled` says.
    #[serde(default)]
    pub zkidcs: BTreeMap<String, bool>,
    /// Pause between two rounds of checks of a zkidc.
    pub interval_ms: u64,
    /// Longest a TCP connect may take before the member counts as unreachable.
    pub connect_timeout_ms: u64,
    /// Members checked at the same time, per zkidc.
    pub concurrency: usize,
}

impl HealthConfig {
    pub fn enabled_for(&self, zkidc: &str) -> bool {
        self.zkidcs.get(zkidc).copied().unwrap_or(self.enabled)
    }
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            enabled: false,
            zkidcs: BTreeMap::new(),
            interval_ms: 10_000,
            connect_timeout_ms: 1_000,
            concurrency: 64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreConfig {
    /// Folder of the embedded stores' snapshots (one JSON file per embedded zkidc).
    pub data_dir: String,
    /// ZooKeeper session timeout asked for.
    pub session_timeout_ms: u64,
    /// Longest a request waits on ZooKeeper before it answers "ZooKeeper unavailable".
    pub op_timeout_ms: u64,
    /// Pause between two reconnection attempts while ZooKeeper is unreachable.
    pub reconnect_delay_ms: u64,
}

/// A seed API key: the identity `owner`, with the operator role (writes and reads) on its
/// zkidcs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub key: Secret,
    /// Who holds the key: the subject every write made with it is logged with.
    pub owner: String,
    /// The zkidcs the key is valid for; empty means every zkidc.
    #[serde(default)]
    pub zkidcs: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let zkidcs = ["qa", "yz", "g1"]
            .into_iter()
            .map(|name| (name.to_string(), EMBEDDED.to_string()))
            .collect();
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            log: LogConfig::default(),
            auth: kit::auth::AuthConfig::default(),
            store: StoreConfig {
                data_dir: "var/soa-registry".into(),
                session_timeout_ms: 10_000,
                op_timeout_ms: 3_000,
                reconnect_delay_ms: 1_000,
            },
            zkidcs,
            keys: vec![ApiKey {
                key: DEMO_KEY.into(),
                owner: "demo".into(),
                zkidcs: Vec::new(),
            }],
            service_zkidcs: BTreeMap::new(),
            health: HealthConfig::default(),
        }
    }
}

/// A zkidc name: letters, digits, `-` and `_` (it names a snapshot file, and appears in logs).
pub fn valid_zkidc_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.log.validate()?;
        if self.store.data_dir.trim().is_empty() {
            return Err(ConfigError::invalid("store.data_dir", "must not be empty"));
        }
        if !(1_000..=600_000).contains(&self.store.session_timeout_ms) {
            return Err(ConfigError::invalid(
                "store.session_timeout_ms",
                "must be between 1000 and 600000",
            ));
        }
        if !(100..=60_000).contains(&self.store.op_timeout_ms) {
            return Err(ConfigError::invalid(
                "store.op_timeout_ms",
                "must be between 100 and 60000",
            ));
        }
        if !(10..=60_000).contains(&self.store.reconnect_delay_ms) {
            return Err(ConfigError::invalid(
                "store.reconnect_delay_ms",
                "must be between 10 and 60000",
            ));
        }
        if self.zkidcs.is_empty() {
            return Err(ConfigError::invalid(
                "zkidcs",
                "configure at least one zkidc",
            ));
        }
        for (name, target) in &self.zkidcs {
            let key = format!("zkidcs.{name}");
            if !valid_zkidc_name(name) {
                return Err(ConfigError::invalid(
                    &key,
                    "a zkidc name is letters, digits, `-` and `_`",
                ));
            }
            if target != EMBEDDED {
                crate::store::zookeeper::parse_connect(target)
                    .map_err(|reason| ConfigError::invalid(&key, reason))?;
            }
        }
        if !(50..=3_600_000).contains(&self.health.interval_ms) {
            return Err(ConfigError::invalid(
                "health.interval_ms",
                "must be between 50 and 3600000",
            ));
        }
        if !(10..=60_000).contains(&self.health.connect_timeout_ms) {
            return Err(ConfigError::invalid(
                "health.connect_timeout_ms",
                "must be between 10 and 60000",
            ));
        }
        if !(1..=1_024).contains(&self.health.concurrency) {
            return Err(ConfigError::invalid(
                "health.concurrency",
                "must be between 1 and 1024",
            ));
        }
        for zkidc in self.health.zkidcs.keys() {
            if !self.zkidcs.contains_key(zkidc) {
                return Err(ConfigError::invalid(
                    &format!("health.zkidcs.{zkidc}"),
                    "not a configured zkidc",
                ));
            }
        }
        if self.keys.is_empty() {
            return Err(ConfigError::invalid(
                "keys",
                "configure at least one API key",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, key) in self.keys.iter().enumerate() {
            let name = format!("keys[{i}]");
            let value = key.key.expose_secret();
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                return Err(ConfigError::invalid(
                    &format!("{name}.key"),
                    "must be non-empty printable text",
                ));
            }
            if !seen.insert(value) {
                return Err(ConfigError::invalid(
                    &format!("{name}.key"),
                    "the same key is configured twice",
                ));
            }
            if key.owner.trim().is_empty() {
                return Err(ConfigError::invalid(
                    &format!("{name}.owner"),
                    "must name who holds the key",
                ));
            }
            for zkidc in &key.zkidcs {
                if !self.zkidcs.contains_key(zkidc) {
                    return Err(ConfigError::invalid(
                        &format!("{name}.zkidcs"),
                        format!("`{zkidc}` is not a configured zkidc"),
                    ));
                }
            }
        }
        for (subject, zkidcs) in &self.service_zkidcs {
            let name = format!("service_zkidcs.{subject}");
            if subject.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "service_zkidcs",
                    "a service subject must not be empty",
                ));
            }
            for zkidc in zkidcs {
                if !self.zkidcs.contains_key(zkidc) {
                    return Err(ConfigError::invalid(
                        &name,
                        format!("`{zkidc}` is not a configured zkidc"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_an_api_key() {
        let config = Config::default();
        let shown = format!("{config:?}");
        assert!(!shown.contains(DEMO_KEY), "{shown}");
    }

    #[test]
    fn defaults_are_valid_and_embedded() {
        let config = Config::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.zkidcs.get("qa").map(String::as_str), Some(EMBEDDED));
        assert_eq!(config.http.bind, "127.0.0.1:8006");
    }

    #[test]
    fn bad_zkidcs_and_keys_are_named() {
        let mut config = Config::default();
        config.zkidcs.insert("bad/name".into(), EMBEDDED.into());
        let err = config.validate().expect_err("bad zkidc name");
        assert!(err.to_string().contains("zkidcs.bad/name"), "{err}");

        let mut config = Config::default();
        config.zkidcs.insert("prod".into(), "host:notaport".into());
        let err = config.validate().expect_err("bad connect string");
        assert!(err.to_string().contains("zkidcs.prod"), "{err}");

        let mut config = Config::default();
        config.keys[0].zkidcs = vec!["nowhere".into()];
        let err = config.validate().expect_err("key for an unknown zkidc");
        assert!(err.to_string().contains("keys[0].zkidcs"), "{err}");

        let mut config = Config::default();
        config.health.zkidcs.insert("nowhere".into(), true);
        let err = config.validate().expect_err("health for an unknown zkidc");
        assert!(err.to_string().contains("health.zkidcs.nowhere"), "{err}");

        let mut config = Config::default();
        config
            .service_zkidcs
            .insert("task-engine".into(), vec!["nowhere".into()]);
        let err = config
            .validate()
            .expect_err("a service on an unknown zkidc");
        assert!(
            err.to_string().contains("service_zkidcs.task-engine"),
            "{err}"
        );
    }

    #[test]
    fn health_is_off_by_default_and_set_per_zkidc() {
        let mut health = Config::default().health;
        assert!(!health.enabled_for("qa"));
        health.zkidcs.insert("qa".into(), true);
        assert!(health.enabled_for("qa"));
        assert!(!health.enabled_for("yz"));
        health.enabled = true;
        health.zkidcs.insert("yz".into(), false);
        assert!(health.enabled_for("g1"));
        assert!(!health.enabled_for("yz"));
    }
}
