//! task-engine: actions, action implementations, remote steps, templates and tasks (flows).
//! `start` builds the whole service so that tests can run it in-process on port 0.
//! This milestone stores and serves the model; nothing executes yet (see proto-docs).

pub mod catalog;
pub mod config;
pub mod error;
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
    kit::server::bind(SERVICE, &config.http, Arc::new(db), move |cfg| {
        cfg.app_data(shared.clone());
        routes::configure(cfg);
    })
    .map_err(|source| StartError::Bind {
        bind: config.http.bind.clone(),
        source,
    })
}
