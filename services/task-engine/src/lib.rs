//! task-engine: actions, action implementations, remote steps, templates and tasks (flows).
//! `start` builds the whole service so that tests can run it in-process on port 0.
//! Tasks run over SSH (`exec`) in batches (`engine`); see proto-docs for what is not built.

pub mod catalog;
pub mod config;
pub mod engine;
pub mod error;
pub mod exec;
pub mod flows;
pub mod plan;
mod routes;
mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use kit::db::{Db, Migrations};

pub use config::Config;

pub const SERVICE: &str = "task-engine";

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] kit::db::OpenError),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Task(String),
}

/// Opens the database (running migrations) and binds the HTTP server; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let database = config.database.clone();
    let db = tokio::task::spawn_blocking(move || {
        Db::open(
            &database,
            Migrations {
                sqlite: SQLITE_MIGRATIONS,
                mysql: MYSQL_MIGRATIONS,
            },
        )
    })
    .await
    .map_err(|e| StartError::Task(e.to_string()))??;
    let shared = web::Data::new(db.clone());
    let executor = Arc::new(exec::SshExecutor::new(config.ssh.clone()));
    let engine = web::Data::new(engine::Engine::new(
        db.clone(),
        executor,
        config.run.clone(),
    ));
    // Renews this engine's task leases and takes over the tasks of dead engines.
    engine.keep_leases();
    kit::server::bind(SERVICE, &config.http, Arc::new(db), move |cfg| {
        cfg.app_data(shared.clone());
        cfg.app_data(engine.clone());
        routes::configure(cfg);
    })
    .map_err(|source| StartError::Bind {
        bind: config.http.bind.clone(),
        source,
    })
}
