//! The configuration of orchestrator: defaults here < TOML file < `DCP_*` environment.

use kit::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig, Validate};
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8002;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The platform's bearer tokens: which issuer this service trusts.
    #[serde(default)]
    pub auth: kit::auth::AuthConfig,
    #[serde(default)]
    pub task_engine: TaskEngineConfig,
    #[serde(default)]
    pub events: EventsConfig,
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// This service's own identity at the token issuer (client credentials): it calls the
    /// task-engine with it — relaying the person it acts for, when it does (expand, shrink,
    /// deploy, the forwarded routes), alone for its own work (schedules, reconciliation).
    #[serde(default)]
    pub identity: client::credentials::IdentityConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            database: DatabaseConfig::sqlite("var/orchestrator.db"),
            log: LogConfig::default(),
            auth: kit::auth::AuthConfig::default(),
            task_engine: TaskEngineConfig::default(),
            events: EventsConfig::default(),
            scheduler: SchedulerConfig::default(),
            identity: client::credentials::IdentityConfig::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        self.task_engine.validate()?;
        self.events.validate()?;
        if let Some((key, reason)) = self.identity.problem() {
            return Err(ConfigError::invalid(key, reason));
        }
        self.scheduler.validate()
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

/// How the orchestrator follows the tasks it starts: task events and reconciliation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EventsConfig {
    /// The orchestrator's base URL as the task-engine reaches it; `notify_url` is this plus
    /// `/internal/task_event`. Empty = `http://` + the bound address (0.0.0.0 read as
    /// 127.0.0.1).
    pub public_url: String,
    /// How often every unfinished task is read again from the task-engine, in milliseconds.
    pub reconcile_interval_ms: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            public_url: String::new(),
            reconcile_interval_ms: 10_000,
        }
    }
}

impl EventsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.public_url.trim();
        let http = url.starts_with("http://") || url.starts_with("https://");
        if !url.is_empty() && !http {
            return Err(ConfigError::invalid(
                "events.public_url",
                format!("must be empty or start with http:// or https://, not `{url}`"),
            ));
        }
        if !(50..=3_600_000).contains(&self.reconcile_interval_ms) {
            return Err(ConfigError::invalid(
                "events.reconcile_interval_ms",
                "must be between 50 and 3600000",
            ));
        }
        Ok(())
    }
}

/// The scheduler of cron items, and the election that lets one replica run it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulerConfig {
    /// ZooKeeper connect string (`host:port[,host:port][/chroot]`) of the leader election;
    /// empty = a single replica: this process schedules.
    pub zookeeper: String,
    /// The election's znode folder.
    pub election_path: String,
    /// ZooKeeper session timeout in milliseconds: how long a dead leader keeps the lead.
    pub session_timeout_ms: u64,
    /// How often due items are looked for, in milliseconds (under a minute, so none is missed).
    pub tick_ms: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            zookeeper: String::new(),
            election_path: "/dcp/orchestrator/scheduler".into(),
            session_timeout_ms: 6_000,
            tick_ms: 5_000,
        }
    }
}

impl SchedulerConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.election_path.starts_with('/') || self.election_path.ends_with('/') {
            return Err(ConfigError::invalid(
                "scheduler.election_path",
                "must start with / and not end with /",
            ));
        }
        if !(1_000..=600_000).contains(&self.session_timeout_ms) {
            return Err(ConfigError::invalid(
                "scheduler.session_timeout_ms",
                "must be between 1000 and 600000",
            ));
        }
        if !(10..=30_000).contains(&self.tick_ms) {
            return Err(ConfigError::invalid(
                "scheduler.tick_ms",
                "must be between 10 and 30000",
            ));
        }
        Ok(())
    }
}
