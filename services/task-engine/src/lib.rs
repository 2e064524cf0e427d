//! task-engine: actions, action implementations, remote steps, templates and tasks (flows).
//! `start` builds the whole service so that tests can run it in-process on port 0.
//! Tasks run over SSH (`exec`) in batches (`engine`); see proto-docs for what is not built.

pub mod builtin;
pub mod catalog;
pub mod config;
pub mod engine;
pub mod error;
pub mod exec;
pub mod flows;
pub mod notify;
pub mod plan;
mod routes;
mod store;

use std::sync::Arc;

use actix_web::web;
use kit::db::Db;

pub use config::Config;
/// Why the service could not start (the kit's, as for every service).
pub use kit::server::{AppData, StartError};
/// Every route with who may call it (for the route-table test of issue #13).
pub use routes::table;

pub const SERVICE: &str = "task-engine";

/// Opens the database (running migrations) and binds the HTTP server; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let db = Db::open_async(&config.database, kit::migrations!()).await?;
    let shared = web::Data::new(db.clone());
    let executor =
        Arc::new(exec::SshExecutor::new(config.ssh.clone()).with_ansible(config.ansible.clone()));
    let peers = builtin::Peers::new(&config.peers, &config.identity)
        .map_err(|e| StartError::Setup(format!("cannot build the peers' clients: {e}")))?;
    let peers = Arc::new(peers);
    let targets = config
        .events
        .targets()
        .map_err(|e| StartError::Setup(e.to_string()))?;
    let notifier = notify::Notifier::new(targets, config.identity.credentials())
        .map_err(|e| StartError::Setup(format!("cannot build the event client: {e}")))?;
    let engine = web::Data::new(engine::Engine::new(
        db.clone(),
        executor,
        config.run.clone(),
        peers,
        notifier,
    ));
    // Renews this engine's task leases and takes over the tasks of dead engines.
    engine.keep_leases();
    let trail = web::Data::new(kit::audit::Trail::new(db.clone()));
    kit::server::start(
        SERVICE,
        &config.http,
        kit::auth::Verifier::new(config.auth.clone())?,
        Arc::new(db),
        routes::table(),
        AppData::new().with(trail).with(shared).with(engine),
    )
}
