//! The configuration of cmdb: defaults here < TOML file < `DCP_*` environment.

use kit::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig, Validate};
use kit::secret::Secret;
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8004;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The seed's signed api keys (`[api_keys]`).
    pub api_keys: ApiKeyConfig,
    /// The platform's bearer tokens (`[auth]`).
    #[serde(default)]
    pub auth: kit::auth::AuthConfig,
    /// The platform's own model (`[platform]`).
    #[serde(default)]
    pub platform: PlatformConfig,
}

/// `[platform]`: what cmdb keeps for the platform's own services.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlatformConfig {
    /// Create at start the CI types the task-engine's `record_ci` / `remove_ci` write
    /// (`dcp_service`, `dcp_pool`, `dcp_node`, their attributes and type relations) when
    /// missing: those steps run with a `service` token, which may not change the model.
    pub ensure_types: bool,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        PlatformConfig { ensure_types: true }
    }
}

/// Api-key signing and the admin user made on first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyConfig {
    /// The admin user created on start if missing.
    pub admin_user: String,
    /// The admin's api key and secret. Empty: generated once, at creation, and written to
    /// `credentials_file`. Set: the admin user gets exactly these at every start.
    pub admin_key: String,
    pub admin_secret: Secret,
    /// Where generated admin credentials are written (JSON, mode 0600).
    pub credentials_file: String,
    /// Removed (issue #13: every request is authenticated); `true` is refused at start so
    /// that a deployment relying on unsigned reads learns it at once, not from its readers.
    pub open_reads: bool,
    /// `_ts` (unix seconds, signed like any parameter) must lie within this many seconds of
    /// the server's clock when present.
    pub ts_window_secs: u64,
    /// When true, every signed request must carry `_ts` (closes most of the replay window).
    pub require_ts: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            database: DatabaseConfig::sqlite("var/cmdb.db"),
            log: LogConfig::default(),
            auth: kit::auth::AuthConfig::default(),
            platform: PlatformConfig::default(),
            api_keys: ApiKeyConfig {
                admin_user: "admin".into(),
                admin_key: String::new(),
                admin_secret: Secret::default(),
                credentials_file: "var/cmdb-admin.json".into(),
                open_reads: false,
                ts_window_secs: 300,
                require_ts: false,
            },
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        let auth = &self.api_keys;
        if auth.admin_user.trim().is_empty() {
            return Err(ConfigError::invalid(
                "api_keys.admin_user",
                "must not be empty",
            ));
        }
        if auth.admin_key.is_empty() != auth.admin_secret.is_empty() {
            return Err(ConfigError::invalid(
                "api_keys.admin_key",
                "set both api_keys.admin_key and api_keys.admin_secret, or neither",
            ));
        }
        if auth.admin_key.is_empty() && auth.credentials_file.trim().is_empty() {
            return Err(ConfigError::invalid(
                "api_keys.credentials_file",
                "must name a file when api_keys.admin_key is not set",
            ));
        }
        if auth.open_reads {
            return Err(ConfigError::invalid(
                "api_keys.open_reads",
                "unsigned reads are gone: every request needs a bearer token (a viewer's is \
                 enough to read) or an api key's signature; remove the setting",
            ));
        }
        if !(1..=86_400).contains(&auth.ts_window_secs) {
            return Err(ConfigError::invalid(
                "api_keys.ts_window_secs",
                "must be between 1 and 86400",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_admin_secret() {
        let mut config = Config::default();
        config.api_keys.admin_key = "cmdb-admin-key".into();
        config.api_keys.admin_secret = "cmdb-admin-secret-5678".into();
        assert!(config.validate().is_ok());
        let shown = format!("{config:?}");
        assert!(!shown.contains("cmdb-admin-secret-5678"), "{shown}");
    }

    #[test]
    fn unsigned_reads_cannot_be_opened_any_more() {
        let mut config = Config::default();
        config.api_keys.open_reads = true;
        let refused = config.validate().expect_err("open reads are refused");
        assert!(
            refused.to_string().contains("api_keys.open_reads"),
            "{refused}"
        );
    }
}
