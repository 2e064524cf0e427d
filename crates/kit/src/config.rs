//! Layered configuration: built-in defaults < TOML file < `DCP_*` environment variables.
//!
//! Environment keys use `__` between levels: `DCP_HTTP__BIND=0.0.0.0:8001`,
//! `DCP_DATABASE__URL=mysql://...`. The file comes from `--config PATH` or `DCP_CONFIG`.

use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// A configuration that could not be loaded or is invalid; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    pub fn invalid(key: &str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            reason: reason.into(),
        }
    }
}

/// Implemented by every service's configuration struct.
pub trait Validate {
    fn validate(&self) -> Result<(), ConfigError>;
}

/// The HTTP listener and the limits every request meets before a handler sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpConfig {
    /// `host:port`; port 0 picks a free port (tests).
    pub bind: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
    /// The largest request body, unless a route declares a larger one of its own.
    #[serde(default = "defaults::max_body_bytes")]
    pub max_body_bytes: usize,
    /// The longest request target (path and query string): longer ones get 414.
    #[serde(default = "defaults::max_uri_bytes")]
    pub max_uri_bytes: usize,
    /// Seconds a client has to send the request line and headers; the connection is closed after.
    #[serde(default = "defaults::header_timeout_secs")]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send the whole body once the headers are in: 408, then closed.
    #[serde(default = "defaults::body_timeout_secs")]
    pub body_timeout_secs: u64,
    /// Seconds an idle kept-alive connection stays open.
    #[serde(default = "defaults::keep_alive_secs")]
    pub keep_alive_secs: u64,
    /// Origins (`https://console.example.com`) allowed to call besides the service's own, for
    /// a console served from another origin; comma-separated.
    #[serde(default)]
    pub allowed_origins: String,
    /// Whether `/metrics` answers without a token (a scraper on a trusted network); by
    /// default it needs the viewer role, as every read does.
    #[serde(default)]
    pub public_metrics: bool,
    /// Connections each worker thread holds open at once. A worker at the cap takes no new
    /// connection until one of its own closes: they wait in the listen backlog, they are not
    /// refused. It bounds what a flood of connections can cost (about 32 KiB each, see
    /// [`crate::memory`]).
    #[serde(default = "defaults::max_connections_per_worker")]
    pub max_connections_per_worker: usize,
    /// Seconds between two returns of the allocator's free memory to the system (glibc's
    /// `malloc_trim`), so that what a burst of connections took is given back once it is
    /// over; 0 never.
    #[serde(default = "defaults::memory_trim_secs")]
    pub memory_trim_secs: u64,
}

mod defaults {
    pub fn max_body_bytes() -> usize {
        1024 * 1024
    }
    pub fn max_uri_bytes() -> usize {
        8 * 1024
    }
    pub fn header_timeout_secs() -> u64 {
        10
    }
    pub fn body_timeout_secs() -> u64 {
        30
    }
    pub fn keep_alive_secs() -> u64 {
        15
    }
    pub fn max_connections_per_worker() -> usize {
        1024
    }
    pub fn memory_trim_secs() -> u64 {
        10
    }
}

impl HttpConfig {
    pub fn on_port(port: u16) -> Self {
        HttpConfig {
            bind: format!("127.0.0.1:{port}"),
            workers: 0,
            shutdown_timeout_secs: 10,
            max_body_bytes: defaults::max_body_bytes(),
            max_uri_bytes: defaults::max_uri_bytes(),
            header_timeout_secs: defaults::header_timeout_secs(),
            body_timeout_secs: defaults::body_timeout_secs(),
            keep_alive_secs: defaults::keep_alive_secs(),
            allowed_origins: String::new(),
            public_metrics: false,
            max_connections_per_worker: defaults::max_connections_per_worker(),
            memory_trim_secs: defaults::memory_trim_secs(),
        }
    }

    /// The extra allowed origins, lower-cased, without a trailing `/`.
    pub fn allowed_origins(&self) -> Vec<String> {
        self.allowed_origins
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|origin| !origin.is_empty())
            .collect()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.bind.parse::<std::net::SocketAddr>().map_err(|e| {
            ConfigError::invalid(
                "http.bind",
                format!("`{}` is not host:port ({e})", self.bind),
            )
        })?;
        for (key, value) in [
            ("http.max_body_bytes", self.max_body_bytes as u64),
            ("http.max_uri_bytes", self.max_uri_bytes as u64),
            ("http.header_timeout_secs", self.header_timeout_secs),
            ("http.body_timeout_secs", self.body_timeout_secs),
            // None would leave the service listening and never taking a connection.
            (
                "http.max_connections_per_worker",
                self.max_connections_per_worker as u64,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be greater than 0"));
            }
        }
        for origin in self.allowed_origins() {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(ConfigError::invalid(
                    "http.allowed_origins",
                    format!("`{origin}` is not an origin such as https://console.example.com"),
                ));
            }
        }
        Ok(())
    }
}

/// The database: `sqlite://path/to/file.db` or `mysql://user:password@host:port/database`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseConfig {
    pub url: String,
    pub pool_size: u32,
    /// How long a request waits for a pooled connection before it is refused.
    pub connect_timeout_secs: u64,
    /// MySQL only: create the database named in the URL if it does not exist.
    pub create_database: bool,
    /// How long a request may wait for the database in all (queueing for a connection
    /// included) before it is answered 503; a database that lets a request pass it is taken
    /// as down until a probe finds it answering. A write that ran out of time may still be
    /// committed (proto-docs/faults.md).
    #[serde(default = "default_request_deadline_ms")]
    pub request_deadline_ms: u64,
}

fn default_request_deadline_ms() -> u64 {
    10_000
}

impl DatabaseConfig {
    pub fn sqlite(path: &str) -> Self {
        DatabaseConfig {
            url: format!("sqlite://{path}"),
            pool_size: 8,
            connect_timeout_secs: 5,
            create_database: true,
            request_deadline_ms: default_request_deadline_ms(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::db::Backend::from_url(&self.url)
            .map_err(|e| ConfigError::invalid("database.url", e.to_string()))?;
        if self.pool_size == 0 {
            return Err(ConfigError::invalid(
                "database.pool_size",
                "must be at least 1",
            ));
        }
        if self.connect_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "database.connect_timeout_secs",
                "must be at least 1",
            ));
        }
        if self.request_deadline_ms < 100 {
            return Err(ConfigError::invalid(
                "database.request_deadline_ms",
                "must be at least 100",
            ));
        }
        Ok(())
    }
}

/// Logging: `format` is `pretty`, `json`, or `auto` (pretty on a terminal, JSON otherwise).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogConfig {
    pub format: String,
    /// A tracing filter such as `info` or `info,resource_pool=debug`; `RUST_LOG` overrides it.
    pub level: String,
    /// A file to log to instead of stderr (empty: stderr), rotated by size: at `max_file_mb` it
    /// becomes `FILE.1` (and `FILE.1` `FILE.2`, ...), keeping `max_files` old files.
    #[serde(default)]
    pub file: String,
    #[serde(default = "default_max_file_mb")]
    pub max_file_mb: u64,
    #[serde(default = "default_max_files")]
    pub max_files: usize,
}

fn default_max_file_mb() -> u64 {
    64
}

fn default_max_files() -> usize {
    4
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "auto".into(),
            level: "info".into(),
            file: String::new(),
            max_file_mb: default_max_file_mb(),
            max_files: default_max_files(),
        }
    }
}

impl LogConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.format.as_str() {
            "auto" | "pretty" | "json" => {}
            other => {
                return Err(ConfigError::invalid(
                    "log.format",
                    format!("`{other}` is not one of auto, pretty, json"),
                ))
            }
        }
        if self.max_file_mb == 0 || self.max_file_mb > 1024 * 1024 {
            return Err(ConfigError::invalid(
                "log.max_file_mb",
                "must be from 1 to 1048576",
            ));
        }
        if self.max_files == 0 {
            return Err(ConfigError::invalid("log.max_files", "must be at least 1"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.level)
            .map(|_| ())
            .map_err(|e| ConfigError::invalid("log.level", e.to_string()))
    }
}

/// Loads `T` from its defaults, then the file (if any), then `DCP_*` variables, and validates it.
pub fn load<T>(defaults: &T, file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Validate,
{
    let mut builder = config::Config::builder().add_source(config::Config::try_from(defaults)?);
    if let Some(path) = file {
        builder = builder.add_source(
            config::File::from(path)
                .format(config::FileFormat::Toml)
                .required(true),
        );
    }
    // No `try_parsing`: it would turn a password such as `0123` into the number 123. Numbers and
    // flags still deserialize from the text.
    builder = builder.add_source(
        config::Environment::with_prefix("DCP")
            .prefix_separator("_")
            .separator("__"),
    );
    let loaded: T = builder.build()?.try_deserialize()?;
    loaded.validate()?;
    Ok(loaded)
}

/// The config file named by `--config PATH` on the command line, else by `DCP_CONFIG`.
pub fn file_from_args() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("DCP_CONFIG").map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Sample {
        http: HttpConfig,
        secret: String,
        workers_hint: u32,
        strict: bool,
    }

    impl Validate for Sample {
        fn validate(&self) -> Result<(), ConfigError> {
            self.http.validate()
        }
    }

    fn defaults() -> Sample {
        Sample {
            http: HttpConfig::on_port(8001),
            secret: "default".into(),
            workers_hint: 1,
            strict: false,
        }
    }

    #[test]
    fn a_connection_cap_of_zero_is_refused_and_the_memory_settings_have_defaults() {
        let http: HttpConfig =
            toml_http("bind = \"127.0.0.1:0\"\nworkers = 0\nshutdown_timeout_secs = 1\n");
        assert_eq!(
            (http.max_connections_per_worker, http.memory_trim_secs),
            (1024, 10)
        );
        http.validate().expect("the defaults are valid");

        let capped = HttpConfig {
            max_connections_per_worker: 0,
            ..http.clone()
        };
        let err = capped
            .validate()
            .expect_err("a cap of 0 never takes a connection");
        assert!(
            err.to_string().contains("http.max_connections_per_worker"),
            "{err}"
        );

        let untrimmed = HttpConfig {
            memory_trim_secs: 0,
            ..http
        };
        untrimmed.validate().expect("0 turns trimming off");
    }

    fn toml_http(text: &str) -> HttpConfig {
        config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("an [http] table")
    }

    // One test touches the process environment, so that no two race on it.
    #[test]
    fn layers_apply_in_order_and_errors_name_the_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("sample.toml");
        std::fs::write(
            &file,
            "secret = \"from-file\"\nworkers_hint = 4\n[http]\nbind = \"127.0.0.1:9000\"\n",
        )
        .expect("write");

        let loaded = load(&defaults(), Some(&file)).expect("file layer");
        assert_eq!(
            (loaded.secret.as_str(), loaded.workers_hint),
            ("from-file", 4)
        );
        assert_eq!(loaded.http.bind, "127.0.0.1:9000");

        std::env::set_var("DCP_SECRET", "0123");
        std::env::set_var("DCP_WORKERS_HINT", "16");
        std::env::set_var("DCP_STRICT", "true");
        let loaded = load(&defaults(), Some(&file));
        std::env::remove_var("DCP_WORKERS_HINT");
        std::env::remove_var("DCP_STRICT");
        let loaded = loaded.expect("environment layer");
        assert_eq!(loaded.secret, "0123", "text stays text");
        assert_eq!((loaded.workers_hint, loaded.strict), (16, true));

        std::env::set_var("DCP_HTTP__BIND", "not an address");
        let err = load(&defaults(), None).expect_err("bad bind");
        std::env::remove_var("DCP_HTTP__BIND");
        assert!(err.to_string().contains("http.bind"), "{err}");

        std::env::set_var("DCP_WORKERS_HINT", "many");
        let err = load(&defaults(), None).expect_err("bad number");
        std::env::remove_var("DCP_WORKERS_HINT");
        std::env::remove_var("DCP_SECRET");
        assert!(err.to_string().contains("workers_hint"), "{err}");
    }

    #[test]
    fn a_log_file_needs_a_size_and_a_count_of_old_files() {
        let mut log = LogConfig {
            file: "var/log/x.log".into(),
            ..LogConfig::default()
        };
        assert!(log.validate().is_ok());
        log.max_files = 0;
        assert!(log
            .validate()
            .is_err_and(|e| e.to_string().contains("log.max_files")));
        log.max_files = 4;
        log.max_file_mb = 0;
        assert!(log
            .validate()
            .is_err_and(|e| e.to_string().contains("log.max_file_mb")));
        // An older file without the new keys keeps working: stderr, 64 MB, 4 files.
        let old: LogConfig =
            serde_json::from_str(r#"{"format": "json", "level": "info"}"#).expect("the old keys");
        assert_eq!(
            (old.file.as_str(), old.max_file_mb, old.max_files),
            ("", 64, 4)
        );
    }
}
