//! cloud-portal: users, sessions, images and VM instances behind a compute driver
//! (LuoYunCloud's API, see proto-docs/cloud-portal.md). `start` builds the whole service so
//! that tests can run it in-process on port 0.

pub mod auth;
pub mod config;
pub mod driver;
pub mod error;
pub mod portal;
mod routes;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use kit::db::{Db, Migrations};

pub use config::Config;
pub use routes::{PAGE_PATHS, ROUTES};

pub const SERVICE: &str = "cloud-portal";

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
    #[error("cannot create the admin user or demo data: {0}")]
    Bootstrap(error::Error),
}

/// Opens the database (running migrations), creates the configured admin (and demo data when
/// on), and binds the HTTP server; await `server` to serve.
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
    let driver: Arc<dyn driver::ComputeDriver> = Arc::new(driver::HostPool);
    tracing::info!(driver = driver.name(), "compute driver");
    let portal = portal::Portal::new(db.clone(), driver, &config).map_err(StartError::Bootstrap)?;
    portal
        .bootstrap(&config)
        .await
        .map_err(StartError::Bootstrap)?;
    let portal = web::Data::new(portal);
    kit::server::bind(SERVICE, &config.http, Arc::new(db), move |cfg| {
        cfg.app_data(portal.clone());
        routes::configure(cfg);
    })
    .map_err(|source| StartError::Bind {
        bind: config.http.bind.clone(),
        source,
    })
}
