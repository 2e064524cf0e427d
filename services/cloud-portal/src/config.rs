//! The configuration of cloud-portal: defaults here < TOML file < `DCP_*` environment.

use kit::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig, Validate};
use kit::secret::Secret;
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8005;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The platform's bearer tokens: which issuer this service trusts.
    #[serde(default)]
    pub auth: kit::auth::AuthConfig,
    pub session: SessionConfig,
    pub login: LoginConfig,
    pub password_hash: PasswordHashConfig,
    pub admin: AdminConfig,
    pub demo: DemoConfig,
    /// The embedded token issuer (`/oauth/token`, `/oauth/jwks`).
    #[serde(default)]
    pub issuer: IssuerConfig,
}

/// The embedded issuer: the `iss` and `aud` of its tokens, its key, how long a token lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuerConfig {
    /// This portal's public base URL: tokens carry it as `iss`, and services find the keys at
    /// `<url>/oauth/jwks`.
    pub url: String,
    /// The `aud` of the tokens: what every service's `auth.audience` says.
    pub audience: String,
    /// The Ed25519 signing key (hex seed), created 0600 on first start.
    pub key_file: String,
    /// Keys published in the JWKS beside the signing key but never used to sign (each created
    /// like `key_file` if missing): how the key is rotated without downtime — first publish
    /// the next key here on every replica, then make it `key_file` and list the old one here
    /// until the last token it signed has expired (proto-docs/identity.md, "Rotating the
    /// issuer's key").
    #[serde(default)]
    pub published_key_files: Vec<String>,
    pub token_ttl_secs: u64,
    /// How long the refresh token of a password grant lasts (each is used once and replaced).
    #[serde(default = "default_refresh_ttl_secs")]
    pub refresh_ttl_secs: u64,
    /// Service identities made (or their secret reset) at every start: portal accounts with
    /// the role `service` that get tokens by the client-credentials grant. The peers'
    /// `[identity]` names them.
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
}

/// One service identity of `[[issuer.clients]]`: its secret given here, or read at start
/// from the environment variable `secret_env` names (how docker compose passes it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientConfig {
    pub id: String,
    #[serde(default)]
    pub secret: Secret,
    #[serde(default)]
    pub secret_env: String,
}

impl ClientConfig {
    /// The client's secret: `secret`, else the value of `secret_env` ("" when neither).
    pub fn secret(&self) -> String {
        if !self.secret.expose_secret().is_empty() || self.secret_env.is_empty() {
            return self.secret.expose_secret().to_string();
        }
        std::env::var(&self.secret_env).unwrap_or_default()
    }
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            url: format!("http://127.0.0.1:{DEFAULT_PORT}"),
            audience: "dcp".into(),
            key_file: "var/cloud-portal-issuer.key".into(),
            published_key_files: Vec::new(),
            token_ttl_secs: 900,
            refresh_ttl_secs: default_refresh_ttl_secs(),
            clients: Vec::new(),
        }
    }
}

/// 30 days: a person signed in with `dcpctl login` or the console stays so for a month of use.
fn default_refresh_ttl_secs() -> u64 {
    30 * 24 * 3600
}

impl IssuerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !(300..=90 * 24 * 3600).contains(&self.refresh_ttl_secs) {
            return Err(ConfigError::invalid(
                "issuer.refresh_ttl_secs",
                "must be from 300 (5 minutes) to 7776000 (90 days)",
            ));
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(ConfigError::invalid(
                "issuer.url",
                "must be this portal's http:// or https:// base URL",
            ));
        }
        if self.audience.trim().is_empty() {
            return Err(ConfigError::invalid("issuer.audience", "must be set"));
        }
        if self.key_file.trim().is_empty() {
            return Err(ConfigError::invalid("issuer.key_file", "must be set"));
        }
        for file in &self.published_key_files {
            if file.trim().is_empty() || file == &self.key_file {
                return Err(ConfigError::invalid(
                    "issuer.published_key_files",
                    "each must be a file other than issuer.key_file",
                ));
            }
        }
        for client in &self.clients {
            if client.id.trim().is_empty() || client.secret().len() < 16 {
                let source = if client.secret_env.is_empty() {
                    String::new()
                } else {
                    format!(" (from ${})", client.secret_env)
                };
                return Err(ConfigError::invalid(
                    "issuer.clients",
                    format!(
                        "client `{}` needs an id and a secret{source} of at least 16 characters",
                        client.id
                    ),
                ));
            }
        }
        if !(60..=86_400).contains(&self.token_ttl_secs) {
            return Err(ConfigError::invalid(
                "issuer.token_ttl_secs",
                "must be between 60 and 86400",
            ));
        }
        Ok(())
    }
}

/// How long a session lives: `idle_timeout_secs` after its last use, and never longer than
/// `absolute_timeout_secs` after the login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionConfig {
    pub idle_timeout_secs: u64,
    pub absolute_timeout_secs: u64,
}

/// Slowing down password guessing: after the n-th failed login in a row for one username from
/// one client address, that pair is refused without a password check for
/// `failure_delay_ms * 2^(n-1)`, at most `max_delay_secs`. A success clears the count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginConfig {
    pub failure_delay_ms: u64,
    pub max_delay_secs: u64,
}

/// argon2id cost of new password hashes (existing hashes keep the cost they were made with).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordHashConfig {
    pub memory_kib: u32,
    pub iterations: u32,
}

/// The administrator created on first start (when no user of that name exists).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminConfig {
    pub username: String,
    pub password: Secret,
}

/// The embedded default's demo data (user `luoyun`/`luoyun`, an image, hosts on 127.0.0.x,
/// two instances), created on first start when on. Production configuration turns it off.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoConfig {
    pub enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            database: DatabaseConfig::sqlite("var/cloud-portal.db"),
            log: LogConfig::default(),
            auth: kit::auth::AuthConfig::default(),
            session: SessionConfig {
                idle_timeout_secs: 3600,
                absolute_timeout_secs: 86400,
            },
            login: LoginConfig {
                failure_delay_ms: 500,
                max_delay_secs: 60,
            },
            // The argon2 crate's defaults (OWASP's minimum for argon2id).
            password_hash: PasswordHashConfig {
                memory_kib: 19456,
                iterations: 2,
            },
            admin: AdminConfig {
                username: "admin".into(),
                // No built-in password: `make run` generates one, compose requires one.
                password: Secret::default(),
            },
            demo: DemoConfig { enabled: true },
            issuer: IssuerConfig::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        self.issuer.validate()?;
        let s = &self.session;
        if s.idle_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "session.idle_timeout_secs",
                "must be at least 1",
            ));
        }
        if s.absolute_timeout_secs < s.idle_timeout_secs {
            return Err(ConfigError::invalid(
                "session.absolute_timeout_secs",
                "must be at least session.idle_timeout_secs",
            ));
        }
        if s.absolute_timeout_secs > 366 * 86400 {
            return Err(ConfigError::invalid(
                "session.absolute_timeout_secs",
                "must be at most a year",
            ));
        }
        if self.login.max_delay_secs > 3600 {
            return Err(ConfigError::invalid(
                "login.max_delay_secs",
                "must be at most 3600",
            ));
        }
        if self.login.failure_delay_ms > self.login.max_delay_secs.saturating_mul(1000) {
            return Err(ConfigError::invalid(
                "login.failure_delay_ms",
                "must not exceed login.max_delay_secs",
            ));
        }
        let h = &self.password_hash;
        if !(8..=4 * 1024 * 1024).contains(&h.memory_kib) {
            return Err(ConfigError::invalid(
                "password_hash.memory_kib",
                "must be between 8 and 4194304",
            ));
        }
        if !(1..=100).contains(&h.iterations) {
            return Err(ConfigError::invalid(
                "password_hash.iterations",
                "must be between 1 and 100",
            ));
        }
        crate::portal::check_username("admin.username", &self.admin.username)
            .map_err(|e| ConfigError::invalid("admin.username", e.to_string()))?;
        if self.admin.password.expose_secret().is_empty() {
            return Err(ConfigError::invalid(
                "admin.password",
                "there is no default admin password: set DCP_ADMIN__PASSWORD (make run generates one)",
            ));
        }
        crate::portal::check_password("admin.password", self.admin.password.expose_secret())
            .map_err(|e| ConfigError::invalid("admin.password", e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_admin_password() {
        let mut config = Config::default();
        config.admin.password = "portal-admin-password-5678".into();
        let shown = format!("{config:?}");
        assert!(!shown.contains("portal-admin-password-5678"), "{shown}");
    }

    #[test]
    fn there_is_no_built_in_admin_password() {
        let mut config = Config::default();
        let err = config.validate().expect_err("no admin password");
        assert!(err.to_string().contains("DCP_ADMIN__PASSWORD"), "{err}");
        config.admin.password = "a real secret".into();
        assert!(config.validate().is_ok());
    }

    #[test]
    fn bad_sessions_and_costs_are_refused_by_name() {
        let mut config = Config::default();
        config.session.idle_timeout_secs = 100;
        config.session.absolute_timeout_secs = 10;
        let err = config.validate().expect_err("absolute below idle");
        assert!(
            err.to_string().contains("session.absolute_timeout_secs"),
            "{err}"
        );

        let mut config = Config::default();
        config.password_hash.iterations = 0;
        let err = config.validate().expect_err("no iterations");
        assert!(
            err.to_string().contains("password_hash.iterations"),
            "{err}"
        );

        let mut config = Config::default();
        config.admin.username = "bad name".into();
        let err = config.validate().expect_err("bad admin name");
        assert!(err.to_string().contains("admin.username"), "{err}");
    }
}
