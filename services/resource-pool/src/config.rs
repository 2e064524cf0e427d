//! The configuration of resource-pool: defaults here < TOML file < `DCP_*` environment.

use kit::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig, Validate};
use kit::secret::Secret;
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8001;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The platform's bearer tokens: which issuer this service trusts.
    #[serde(default)]
    pub auth: kit::auth::AuthConfig,
    pub probe: ProbeConfig,
}

/// The account `probe_instance` uses to log in to the MySQL instances of the inventory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeConfig {
    pub user: String,
    pub password: Secret,
    pub timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            database: DatabaseConfig::sqlite("var/resource-pool.db"),
            log: LogConfig::default(),
            auth: kit::auth::AuthConfig::default(),
            probe: ProbeConfig {
                user: "root".into(),
                password: Secret::default(),
                timeout_secs: 3,
            },
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        if self.probe.user.is_empty() {
            return Err(ConfigError::invalid("probe.user", "must not be empty"));
        }
        if !(1..=60).contains(&self.probe.timeout_secs) {
            return Err(ConfigError::invalid(
                "probe.timeout_secs",
                "must be between 1 and 60",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_probe_password() {
        let mut config = Config::default();
        config.probe.password = "probe-password-5678".into();
        assert!(config.validate().is_ok());
        let shown = format!("{config:?}");
        assert!(!shown.contains("probe-password-5678"), "{shown}");
    }
}
