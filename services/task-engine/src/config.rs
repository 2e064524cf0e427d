//! The configuration of task-engine: defaults here < TOML file < `DCP_*` environment.

use kit::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig, Validate};
use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8003;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    #[serde(default)]
    pub ssh: SshConfig,
    #[serde(default)]
    pub run: RunConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            database: DatabaseConfig::sqlite("var/task-engine.db"),
            log: LogConfig::default(),
            ssh: SshConfig::default(),
            run: RunConfig::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        self.ssh.validate()?;
        self.run.validate()
    }
}

/// How remote steps reach the nodes: the system `ssh` client with these settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SshConfig {
    /// The `ssh` program.
    pub program: String,
    /// The remote user.
    pub user: String,
    /// The private key (`-i`); empty = ssh's own defaults.
    pub key: String,
    pub port: u16,
    /// `StrictHostKeyChecking`: `yes` (only known hosts), `accept-new` (learn unknown hosts,
    /// refuse changed keys) or `no` (accept anything; tests only).
    pub host_key_policy: String,
    /// `UserKnownHostsFile`.
    pub known_hosts: String,
    pub connect_timeout_secs: u64,
    /// A command (or script) still running after this long is killed and fails its step.
    pub command_timeout_secs: u64,
    /// Where the ControlMaster sockets live (connection reuse); empty = the system temp dir.
    pub control_dir: String,
    /// How long an idle master connection is kept; 0 disables connection reuse.
    pub control_persist_secs: u64,
    /// stdout and stderr are each kept up to this many bytes in the node's log.
    pub max_output_bytes: usize,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            program: "ssh".into(),
            user: "root".into(),
            key: String::new(),
            port: 22,
            host_key_policy: "accept-new".into(),
            known_hosts: "var/task-engine-known_hosts".into(),
            connect_timeout_secs: 10,
            command_timeout_secs: 3600,
            control_dir: String::new(),
            control_persist_secs: 60,
            max_output_bytes: 64 * 1024,
        }
    }
}

pub const HOST_KEY_POLICIES: [&str; 3] = ["yes", "accept-new", "no"];

impl SshConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.program.trim().is_empty() {
            return Err(ConfigError::invalid("ssh.program", "must not be empty"));
        }
        if self.user.trim().is_empty() {
            return Err(ConfigError::invalid("ssh.user", "must not be empty"));
        }
        if self.port == 0 {
            return Err(ConfigError::invalid("ssh.port", "must be from 1 to 65535"));
        }
        if !HOST_KEY_POLICIES.contains(&self.host_key_policy.as_str()) {
            return Err(ConfigError::invalid(
                "ssh.host_key_policy",
                format!(
                    "must be one of {}, not `{}`",
                    HOST_KEY_POLICIES.join(", "),
                    self.host_key_policy
                ),
            ));
        }
        if self.known_hosts.trim().is_empty() {
            return Err(ConfigError::invalid("ssh.known_hosts", "must not be empty"));
        }
        if self.connect_timeout_secs == 0 || self.command_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "ssh.connect_timeout_secs / ssh.command_timeout_secs",
                "must be at least 1",
            ));
        }
        if self.max_output_bytes == 0 {
            return Err(ConfigError::invalid(
                "ssh.max_output_bytes",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The run loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// Nodes of one batch run at the same time, at most.
    pub concurrency: usize,
    /// Pause before each retry of a failed step, in milliseconds.
    pub retry_pause_ms: u64,
    /// How long an engine's claim on a RUNNING task holds without renewal (renewed every
    /// third of it); a task whose lease has expired is taken over by a live engine.
    pub lease_secs: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            concurrency: 20,
            retry_pause_ms: 5000,
            lease_secs: 30,
        }
    }
}

impl RunConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.concurrency) {
            return Err(ConfigError::invalid(
                "run.concurrency",
                "must be from 1 to 1000",
            ));
        }
        if !(2..=3600).contains(&self.lease_secs) {
            return Err(ConfigError::invalid(
                "run.lease_secs",
                "must be from 2 to 3600",
            ));
        }
        Ok(())
    }
}
