//! resource-pool: the DBA inventory of servers, MySQL instances and databases.
//! `start` builds the whole service so that tests can run it in-process on port 0.

pub mod config;
pub mod error;
pub mod inventory;
mod routes;
mod store;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use kit::db::{Db, Migrations};
use kit::server::{AppData, StartError};

pub use config::Config;
pub use routes::{functions, table};

pub const SERVICE: &str = "resource-pool";

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// Opens the database (running migrations) and binds the HTTP server; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let migrations = Migrations {
        sqlite: SQLITE_MIGRATIONS,
        mysql: MYSQL_MIGRATIONS,
    };
    let db = Db::open_async(&config.database, migrations).await?;
    let inventory = web::Data::new(inventory::Inventory::new(db.clone(), config.probe.clone()));
    kit::server::start(
        SERVICE,
        &config.http,
        kit::auth::Verifier::new(config.auth.clone())?,
        Arc::new(db),
        routes::table(),
        AppData::new().with(inventory),
    )
}
