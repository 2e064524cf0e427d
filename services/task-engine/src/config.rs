//! The configuration of task-engine: defaults here < TOML file < `DCP_*` environment.

use kit::config::{ConfigError, DatabaseConfig, HttpConfig, LogConfig, Validate};
use kit::secret::Secret;
use serde::{Deserialize, Deserializer, Serialize};

use crate::notify::EventTargets;

pub const DEFAULT_PORT: u16 = 8003;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    /// The platform's bearer tokens: which issuer this service trusts.
    #[serde(default)]
    pub auth: kit::auth::AuthConfig,
    #[serde(default)]
    pub ssh: SshConfig,
    #[serde(default)]
    pub run: RunConfig,
    #[serde(default)]
    pub peers: PeersConfig,
    #[serde(default)]
    pub ansible: AnsibleConfig,
    #[serde(default)]
    pub events: EventsConfig,
    /// This service's own identity at the token issuer (client credentials): the task events
    /// it POSTs and the built-in steps' calls to their peers carry its token (role `service`,
    /// subject = `client_id`). Unset: events go without one (a receiver that checks them,
    /// such as the orchestrator, refuses them), and each configured peer needs its legacy
    /// seed credentials in `[peers]`.
    #[serde(default)]
    pub identity: client::credentials::IdentityConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http: HttpConfig::on_port(DEFAULT_PORT),
            database: DatabaseConfig::sqlite("var/task-engine.db"),
            log: LogConfig::default(),
            auth: kit::auth::AuthConfig::default(),
            ssh: SshConfig::default(),
            run: RunConfig::default(),
            peers: PeersConfig::default(),
            ansible: AnsibleConfig::default(),
            events: EventsConfig::default(),
            identity: client::credentials::IdentityConfig::default(),
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.http.validate()?;
        self.database.validate()?;
        self.log.validate()?;
        self.ssh.validate()?;
        self.peers.validate(self.identity.is_configured())?;
        self.ansible.validate()?;
        self.events.validate()?;
        if let Some((key, reason)) = self.identity.problem() {
            return Err(ConfigError::invalid(key, reason));
        }
        self.run.validate()
    }
}

/// Where task events may go.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EventsConfig {
    /// The base URLs a task's `notify_url` may lie under: same scheme, host and port, path
    /// equal to the base's or below it. `host:*` accepts any port of that host (set-ups whose
    /// receiver binds port 0; production names the port). Empty (the default): no task may
    /// have a `notify_url`. From the environment: one text, URLs separated by commas or spaces.
    #[serde(deserialize_with = "list_or_text")]
    pub allowed_urls: Vec<String>,
}

impl EventsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.targets().map(|_| ())
    }

    /// The parsed allow-list.
    pub fn targets(&self) -> Result<EventTargets, ConfigError> {
        EventTargets::parse(&self.allowed_urls)
            .map_err(|why| ConfigError::invalid(crate::notify::ALLOWED_URLS_KEY, why))
    }
}

/// A list, or one text of items separated by commas or white space (an environment variable).
fn list_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrText {
        List(Vec<String>),
        Text(String),
    }
    Ok(match ListOrText::deserialize(deserializer)? {
        ListOrText::List(items) => items,
        ListOrText::Text(text) => text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(str::to_string)
            .collect(),
    })
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
    pub host_key_policy: HostKeyPolicy,
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
    /// `KexAlgorithms` (comma-separated); empty = ssh's defaults. `curve25519-sha256` costs
    /// far less CPU per connection than OpenSSH 9's default post-quantum hybrid.
    pub kex_algorithms: String,
}

impl Default for SshConfig {
    fn default() -> Self {
        SshConfig {
            program: "ssh".into(),
            user: "root".into(),
            key: String::new(),
            port: 22,
            host_key_policy: HostKeyPolicy::AcceptNew,
            known_hosts: "var/task-engine-known_hosts".into(),
            connect_timeout_secs: 10,
            command_timeout_secs: 3600,
            control_dir: String::new(),
            control_persist_secs: 60,
            max_output_bytes: 64 * 1024,
            kex_algorithms: String::new(),
        }
    }
}

/// ssh's `StrictHostKeyChecking`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Only hosts whose key is in `known_hosts`.
    Yes,
    /// Unknown hosts are learnt; a changed key is refused.
    AcceptNew,
    /// Any key (tests only).
    No,
}

impl HostKeyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            HostKeyPolicy::Yes => "yes",
            HostKeyPolicy::AcceptNew => "accept-new",
            HostKeyPolicy::No => "no",
        }
    }
}

impl std::fmt::Display for HostKeyPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest login name `ssh.user` may be.
pub const MAX_USER_LEN: usize = 32;

/// A login name: a letter, digit or `_` first, then letters, digits, `_`, `.` and `-`.
fn check_user(key: &str, user: &str) -> Result<(), ConfigError> {
    let first_ok = user
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || user.len() > MAX_USER_LEN {
        return Err(ConfigError::invalid(
            key,
            format!(
                "must be a login name (letters, digits, `_`, `.`, `-`; not starting with `-` or `.`; at most {MAX_USER_LEN} characters), not `{}`",
                user.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// A value that goes into the arguments of `ssh` or `ansible` (a path, a list of names): one
/// word for ssh's `-o` parser and for the shlex split ansible makes of `--ssh-common-args`,
/// never an option. Empty passes (the caller decides whether empty is allowed).
pub fn check_word(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.starts_with('-') {
        return Err(ConfigError::invalid(key, "must not start with `-`"));
    }
    if let Some(c) = value
        .chars()
        .find(|&c| c.is_whitespace() || c.is_control() || "'\"\\{}#".contains(c))
    {
        return Err(ConfigError::invalid(
            key,
            format!(
                "must not hold spaces, control characters, quotes, backslashes, braces or `#` (found {:?})",
                c
            ),
        ));
    }
    Ok(())
}

impl SshConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.program.trim().is_empty() {
            return Err(ConfigError::invalid("ssh.program", "must not be empty"));
        }
        check_user("ssh.user", &self.user)?;
        if self.port == 0 {
            return Err(ConfigError::invalid("ssh.port", "must be from 1 to 65535"));
        }
        if self.known_hosts.trim().is_empty() {
            return Err(ConfigError::invalid("ssh.known_hosts", "must not be empty"));
        }
        check_word("ssh.known_hosts", &self.known_hosts)?;
        check_word("ssh.key", &self.key)?;
        check_word("ssh.control_dir", &self.control_dir)?;
        if self.connect_timeout_secs == 0 || self.command_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "ssh.connect_timeout_secs / ssh.command_timeout_secs",
                "must be at least 1",
            ));
        }
        // A leading `+`, `-` or `^` changes ssh's default list; it stays one `-o` value.
        if !self
            .kex_algorithms
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.,+-^".contains(c))
        {
            return Err(ConfigError::invalid(
                "ssh.kex_algorithms",
                "must be names separated by commas, without spaces",
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

/// The services the built-in steps call. A peer whose `url` is empty is not configured: the
/// steps that need it fail, naming the key to set. A configured peer is called with this
/// service's own identity (`[identity]`) when it is set; without it, with the peer's legacy
/// seed credentials below, which are then required. With both, the identity is used.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PeersConfig {
    pub cloud_portal: CloudPortalPeer,
    pub soa_registry: SoaRegistryPeer,
    pub cmdb: CmdbPeer,
    /// Longest wait for one call to a peer, in seconds.
    pub timeout_secs: u64,
    /// Longest wait for a peer's connection, in seconds.
    pub connect_timeout_secs: u64,
}

impl Default for PeersConfig {
    fn default() -> Self {
        PeersConfig {
            cloud_portal: CloudPortalPeer::default(),
            soa_registry: SoaRegistryPeer::default(),
            cmdb: CmdbPeer::default(),
            timeout_secs: 30,
            connect_timeout_secs: 5,
        }
    }
}

/// cloud-portal (`create_vm`, `return_vm`). Legacy, without `[identity]`: a portal user with
/// the role `service`, by username and password (a session).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CloudPortalPeer {
    pub url: String,
    /// Legacy seed credential: only without `[identity]`.
    pub username: String,
    /// Legacy seed credential: only without `[identity]`.
    pub password: Secret,
}

/// soa-registry (`register`, `unregister`): the zkidc used when a task names none. Legacy,
/// without `[identity]`: an API key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SoaRegistryPeer {
    pub url: String,
    /// Legacy seed credential: only without `[identity]`.
    pub key: Secret,
    pub zkidc: String,
}

/// cmdb (`record_ci`, `remove_ci`). Legacy, without `[identity]`: a cmdb user's api key and
/// secret. Either way the steps only write CIs: the CI types are cmdb's (`[platform]
/// ensure_types`) or an admin's to create.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CmdbPeer {
    pub url: String,
    /// Legacy seed credential: only without `[identity]`.
    pub key: String,
    /// Legacy seed credential: only without `[identity]`.
    pub secret: Secret,
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if url.is_empty() {
        return Ok(());
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::invalid(
            key,
            format!("must be an http:// or https:// URL (or empty: not configured), not `{url}`"),
        ));
    }
    Ok(())
}

/// A legacy credential of a configured peer, needed when there is no `[identity]`.
fn require_legacy(key: &str, value: &str, url_key: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::invalid(
            key,
            format!(
                "must be set when {url_key} is configured without `[identity]` \
                 (identity.token_url, identity.client_id, identity.client_secret: this \
                 service's own identity, which the peers should be called with; `{key}` is \
                 the legacy seed credential)"
            ),
        ));
    }
    Ok(())
}

impl PeersConfig {
    /// The URLs, and, when `identity` (this service's own identity is configured) is false,
    /// the legacy credentials of every configured peer.
    pub fn validate(&self, identity: bool) -> Result<(), ConfigError> {
        let cp = &self.cloud_portal;
        check_url("peers.cloud_portal.url", &cp.url)?;
        let soa = &self.soa_registry;
        check_url("peers.soa_registry.url", &soa.url)?;
        let cmdb = &self.cmdb;
        check_url("peers.cmdb.url", &cmdb.url)?;
        if !identity {
            if !cp.url.is_empty() {
                let url_key = "peers.cloud_portal.url";
                require_legacy("peers.cloud_portal.username", &cp.username, url_key)?;
                require_legacy(
                    "peers.cloud_portal.password",
                    cp.password.expose_secret(),
                    url_key,
                )?;
            }
            if !soa.url.is_empty() {
                require_legacy(
                    "peers.soa_registry.key",
                    soa.key.expose_secret(),
                    "peers.soa_registry.url",
                )?;
            }
            if !cmdb.url.is_empty() {
                let url_key = "peers.cmdb.url";
                require_legacy("peers.cmdb.key", &cmdb.key, url_key)?;
                require_legacy("peers.cmdb.secret", cmdb.secret.expose_secret(), url_key)?;
            }
        }
        if self.timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "peers.timeout_secs / peers.connect_timeout_secs",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The legacy credentials set beside `[identity]`, which then go unused (for a warning).
    pub fn unused_legacy_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if !self.cloud_portal.username.is_empty() {
            keys.push("peers.cloud_portal.username");
        }
        if !self.cloud_portal.password.expose_secret().is_empty() {
            keys.push("peers.cloud_portal.password");
        }
        if !self.soa_registry.key.expose_secret().is_empty() {
            keys.push("peers.soa_registry.key");
        }
        if !self.cmdb.key.is_empty() {
            keys.push("peers.cmdb.key");
        }
        if !self.cmdb.secret.expose_secret().is_empty() {
            keys.push("peers.cmdb.secret");
        }
        keys
    }
}

/// Action implementations whose module is not shell / command / longscript run with
/// `ansible` (ad hoc, one host), with the ssh user, key and port of `[ssh]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AnsibleConfig {
    /// The `ansible` program: a name looked up in `PATH`, or a path.
    pub program: String,
    /// `ansible_python_interpreter` on the nodes; empty = ansible's own discovery (which can
    /// pick a shim of a version manager such as pyenv that a non-interactive shell cannot run).
    pub python_interpreter: String,
}

impl Default for AnsibleConfig {
    fn default() -> Self {
        AnsibleConfig {
            program: "ansible".into(),
            python_interpreter: String::new(),
        }
    }
}

impl AnsibleConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.program.trim().is_empty() {
            return Err(ConfigError::invalid("ansible.program", "must not be empty"));
        }
        check_word("ansible.python_interpreter", self.python_interpreter.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_peer_password_key_or_secret() {
        let mut config = Config::default();
        config.peers.cloud_portal.password = "portal-password-5678".into();
        config.peers.soa_registry.key = "soa-key-5678".into();
        config.peers.cmdb.secret = "cmdb-secret-5678".into();
        let shown = format!("{config:?}");
        for secret in ["portal-password-5678", "soa-key-5678", "cmdb-secret-5678"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn peers_are_optional_but_need_their_credentials_when_set() {
        let mut peers = PeersConfig::default();
        assert!(peers.validate(false).is_ok(), "no peer configured is valid");
        peers.cloud_portal.url = "http://cp:8005".into();
        let error = peers.validate(false).map_err(|e| e.to_string());
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.contains("peers.cloud_portal.username")),
            "{error:?}"
        );
        peers.cloud_portal.username = "svc".into();
        peers.cloud_portal.password = "pw".into();
        assert!(peers.validate(false).is_ok());
        peers.cmdb.url = "cmdb:8004".into();
        let error = peers.validate(false).map_err(|e| e.to_string());
        assert!(
            error.as_ref().is_err_and(|e| e.contains("peers.cmdb.url")),
            "{error:?}"
        );
        peers.cmdb.url = "http://cmdb:8004".into();
        peers.cmdb.key = "k".into();
        let error = peers.validate(false).map_err(|e| e.to_string());
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.contains("peers.cmdb.secret")),
            "{error:?}"
        );
        peers.soa_registry.url = "http://soa:8006".into();
        peers.cmdb.secret = "s".into();
        let error = peers.validate(false).map_err(|e| e.to_string());
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.contains("peers.soa_registry.key")),
            "{error:?}"
        );
    }

    #[test]
    fn with_an_identity_the_peers_need_no_legacy_credentials() {
        let mut config = Config::default();
        config.peers.cloud_portal.url = "http://cp:8005".into();
        config.peers.soa_registry.url = "http://soa:8006".into();
        config.peers.cmdb.url = "http://cmdb:8004".into();
        let error = config.validate().map_err(|e| e.to_string());
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.contains("peers.cloud_portal.username")
                    && e.contains("identity.client_id")),
            "{error:?}"
        );
        config.identity = client::credentials::IdentityConfig {
            token_url: "http://cp:8005/oauth/token".into(),
            client_id: "task-engine".into(),
            client_secret: "a-secret-of-the-task-engine".to_string().into(),
        };
        assert!(config.validate().is_ok(), "{:?}", config.validate());
        assert!(config.peers.unused_legacy_keys().is_empty());
        config.peers.cmdb.key = "k".into();
        assert_eq!(config.peers.unused_legacy_keys(), vec!["peers.cmdb.key"]);
        config.peers.cmdb.url = "cmdb:8004".into();
        let error = config.validate().map_err(|e| e.to_string());
        assert!(
            error.as_ref().is_err_and(|e| e.contains("peers.cmdb.url")),
            "{error:?}"
        );
    }

    #[test]
    fn kex_algorithms_are_one_word() {
        let mut ssh = SshConfig {
            kex_algorithms: "curve25519-sha256,sntrup761x25519-sha512@openssh.com".into(),
            ..SshConfig::default()
        };
        assert!(ssh.validate().is_ok());
        ssh.kex_algorithms = "curve25519-sha256 -oProxyCommand=x".into();
        assert!(ssh.validate().is_err());
    }

    #[test]
    fn values_that_reach_ssh_or_ansible_arguments_are_single_words() {
        assert!(SshConfig::default().validate().is_ok());
        let bad: Vec<(&str, SshConfig)> = vec![
            (
                "ssh.user",
                SshConfig {
                    user: "-oProxyCommand=x".into(),
                    ..SshConfig::default()
                },
            ),
            (
                "ssh.user",
                SshConfig {
                    user: "ops admin".into(),
                    ..SshConfig::default()
                },
            ),
            (
                "ssh.known_hosts",
                SshConfig {
                    known_hosts: "/tmp/kh -o ProxyCommand=x".into(),
                    ..SshConfig::default()
                },
            ),
            (
                "ssh.key",
                SshConfig {
                    key: "-x".into(),
                    ..SshConfig::default()
                },
            ),
            (
                "ssh.control_dir",
                SshConfig {
                    control_dir: "/run/'te".into(),
                    ..SshConfig::default()
                },
            ),
        ];
        for (key, config) in bad {
            let error = config.validate().map_err(|e| e.to_string());
            assert!(
                error.as_ref().is_err_and(|e| e.contains(key)),
                "{key}: {error:?}"
            );
        }
        let ansible = AnsibleConfig {
            python_interpreter: "/usr/bin/python3 ansible_connection=local".into(),
            ..AnsibleConfig::default()
        };
        assert!(ansible.validate().is_err());
    }

    #[test]
    fn the_host_key_policy_is_one_of_three() {
        for (text, policy) in [
            ("yes", HostKeyPolicy::Yes),
            ("accept-new", HostKeyPolicy::AcceptNew),
            ("no", HostKeyPolicy::No),
        ] {
            let parsed: HostKeyPolicy =
                serde_json::from_value(serde_json::json!(text)).expect("a policy");
            assert_eq!(parsed, policy);
            assert_eq!(policy.to_string(), text);
        }
        assert!(serde_json::from_value::<HostKeyPolicy>(serde_json::json!("ask")).is_err());
    }

    #[test]
    fn allowed_event_urls_come_as_a_list_or_as_text() {
        let listed: EventsConfig =
            serde_json::from_value(serde_json::json!({"allowed_urls": ["http://a:1/e"]}))
                .expect("a list");
        assert_eq!(listed.allowed_urls, vec!["http://a:1/e"]);
        let text: EventsConfig = serde_json::from_value(
            serde_json::json!({"allowed_urls": "http://a:1/e, http://b:2/e"}),
        )
        .expect("a text");
        assert_eq!(text.allowed_urls, vec!["http://a:1/e", "http://b:2/e"]);
        assert!(EventsConfig::default().validate().is_ok());
        let bad = EventsConfig {
            allowed_urls: vec!["ftp://x/".into()],
        };
        let error = bad.validate().map_err(|e| e.to_string());
        assert!(
            error
                .as_ref()
                .is_err_and(|e| e.contains("events.allowed_urls")),
            "{error:?}"
        );
    }
}
