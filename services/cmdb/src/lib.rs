//! cmdb: the configuration-management database — attributes, CI types, CIs, relations, the
//! search language, history, and api-key signing. `start` builds the whole service so that
//! tests can run it in-process on port 0.

pub mod auth;
pub mod config;
pub mod error;
pub mod model;
mod routes;
pub mod search;
pub mod service;
mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use kit::db::{Db, Migrations};

pub use config::Config;

pub const SERVICE: &str = "cmdb";

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
    #[error("cannot create the admin user: {0}")]
    Admin(String),
    #[error("start-up task failed: {0}")]
    Task(String),
}

/// Opens the database (running migrations), makes sure the admin user exists, and binds the
/// HTTP server; await `server` to serve.
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
    let cmdb = service::Cmdb::new(db.clone(), config.auth.clone());
    cmdb.ensure_admin()
        .await
        .map_err(|e| StartError::Admin(e.to_string()))?;
    let cmdb = web::Data::new(cmdb);
    kit::server::bind(SERVICE, &config.http, Arc::new(db), move |cfg| {
        cfg.app_data(cmdb.clone());
        routes::configure(cfg);
    })
    .map_err(|source| StartError::Bind {
        bind: config.http.bind.clone(),
        source,
    })
}
