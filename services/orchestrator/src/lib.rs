//! orchestrator: clusters, services, pools and their nodes (see `proto-docs/orchestrator.md`).
//! `start` builds the whole service so that tests can run it in-process on port 0.

pub mod config;
pub mod domain;
pub mod error;
mod routes;
mod store;

use std::sync::Arc;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use kit::db::{Db, Migrations};
use kit::server::StartError;

pub use config::Config;

pub const SERVICE: &str = "orchestrator";

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// Opens the database (running migrations) and binds the HTTP server; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let migrations = Migrations {
        sqlite: SQLITE_MIGRATIONS,
        mysql: MYSQL_MIGRATIONS,
    };
    let db = Db::open_async(&config.database, migrations).await?;
    let shared = actix_web::web::Data::new(db.clone());
    let front_door = actix_web::web::Data::new(
        routes::forward::TaskEngine::new(&config.task_engine)
            .map_err(|e| StartError::Setup(format!("task-engine client: {e}")))?,
    );
    kit::server::start(SERVICE, &config.http, Arc::new(db), move |cfg| {
        cfg.app_data(shared.clone());
        cfg.app_data(front_door.clone());
        routes::configure(cfg);
    })
}
