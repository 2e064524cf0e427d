//! The whole `main` of a service, so that every binary is three lines: load the configuration
//! (defaults < file < environment), set up tracing, start, print where it listens, serve until
//! SIGTERM/SIGINT. Everything a service writes is its owner's alone: the process umask is
//! 077 from the start.

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::{LogConfig, Validate};
use crate::server::Bound;

/// Exit status 2: the configuration is invalid; 1: the service could not start or failed.
pub async fn run<C, Start, Starting, E>(
    service: &str,
    defaults: C,
    log: impl Fn(&C) -> &LogConfig,
    start: Start,
) -> ExitCode
where
    C: Serialize + DeserializeOwned + Validate,
    Start: FnOnce(C) -> Starting,
    Starting: Future<Output = Result<Bound, E>>,
    E: Display,
{
    private_files();
    let file = crate::config::file_from_args();
    let config = match crate::config::load(&defaults, file.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{service}: {e}");
            return ExitCode::from(2);
        }
    };
    let _log = crate::telemetry::init(log(&config));
    let bound = match start(config).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("{service}: {e}");
            return ExitCode::from(1);
        }
    };
    // Scripts (make run, the Python tests, the benchmarks) read this line to learn the address.
    println!("{service} listening on http://{}", bound.addr);
    match bound.server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{service}: {e}");
            ExitCode::from(1)
        }
    }
}

/// Services keep secrets in what they write (SQLite databases with api secrets, password
/// hashes and session keys; cmdb's generated admin credentials): with umask 077 every file
/// and folder a service creates is readable by the account running it only, whatever the
/// shell that started it had. kit::db and cmdb also set the modes themselves; this catches
/// what they do not know of.
fn private_files() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}
