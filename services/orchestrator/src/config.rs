//! The configuration of orchestrator: defaults here < TOML file < `DCP_*` environment.

use kit::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig, Validate};
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8002;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    #[serde(default)]
    pub task_engine: TaskEngineConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            database: DatabaseConfig::sqlite("var/orchestrator.db"),
            log: LogConfig::default(),
            task_engine: TaskEngineConfig::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        self.task_engine.validate()
    }
}

/// Where the task-engine is: its routes are forwarded there (the one front door).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskEngineConfig {
    /// Default `http://127.0.0.1:8003` (the task-engine's default address); empty = not
    /// configured (forwarded routes answer 503).
    pub url: String,
    /// How long a forwarded call may take, in seconds; 0 = 30.
    pub timeout_secs: u64,
}

impl Default for TaskEngineConfig {
    fn default() -> Self {
        TaskEngineConfig {
            url: "http://127.0.0.1:8003".into(),
            timeout_secs: 30,
        }
    }
}

impl TaskEngineConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.trim();
        let http = url.starts_with("http://") || url.starts_with("https://");
        if !url.is_empty() && !http {
            return Err(ConfigError::invalid(
                "task_engine.url",
                format!("must be empty or start with http:// or https://, not `{url}`"),
            ));
        }
        if self.timeout_secs > 3600 {
            return Err(ConfigError::invalid(
                "task_engine.timeout_secs",
                "must be at most 3600",
            ));
        }
        Ok(())
    }
}
