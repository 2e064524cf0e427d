//! The service kit: what every DCP service needs and none should write twice.
//!
//! - [`auth`]: bearer tokens (JWT) verified against the issuer's published keys; roles.
//! - [`access`]: who may call each route ([`access::Access`]), enforced before its handler; the verified [`access::Caller`].
//! - [`revocation`]: the issuer's list of revoked API tokens, fetched at most every few seconds.
//! - [`audit`]: the trail of a service's writes: verified actor, relaying service, what, when, request id.
//! - [`signing`]: Ed25519 keys that sign access tokens (the embedded issuer, the test issuer).
//! - [`config`]: layered configuration (defaults < TOML file < `DCP_*` environment), validated at start.
//! - [`telemetry`]: tracing setup and the per-request middleware (request id, span, metrics).
//! - [`election`] (feature `zookeeper`): one leader among replicas, through ZooKeeper.
//! - [`metrics`]: a small Prometheus registry of requests and latency per route and status.
//! - [`db`]: one diesel connection type over SQLite and MySQL/MariaDB, its pool, migrations,
//!   and the bridge that keeps blocking diesel work off the async reactor.
//! - [`params`]: request parameters from the query string, a form body or a JSON body, and pages.
//! - [`openapi`]: the frame and operations routes every service's OpenAPI document shares.
//! - [`error`]: what every service's error type shares: conversions from parameter and database
//!   errors, and answering (the safe message to the client, the cause chain to the log).
//! - [`status_error`]: the error of the services whose envelope carries the HTTP status as `code`.
//! - [`seed_reply`]: those services' success and list envelopes, and the ids in their paths.
//! - [`text`]: the control-character check every name and free-text value passes.
//! - [`routes`]: the route table every service declares its routes in (path, methods, effect, handler).
//! - [`guard`]: what every request meets before routing: target length, cross-site rule, body size and time.
//! - [`secret`]: passwords, api secrets and keys in configurations, hidden from `Debug`.
//! - [`server`]: the HTTP server with `/healthz`, `/readyz`, `/metrics` and graceful shutdown.
//! - [`memory`]: what a burst of connections costs in memory; the connection cap and giving it back.
//! - `testing` (feature `testing`, for test suites only): fresh SQLite files and MariaDB databases, a real sshd and a real ZooKeeper
//!   for integration tests.

pub mod access;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
#[cfg(all(test, feature = "testing"))]
mod db_drills;
#[cfg(feature = "zookeeper")]
pub mod election;
pub mod entry;
pub mod error;
pub mod guard;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod revocation;
pub mod routes;
pub mod secret;
pub mod seed_reply;
pub mod server;
pub mod signing;
pub mod status_error;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;

pub use params::{Page, Params, ParamsError};
pub use telemetry::RequestId;
