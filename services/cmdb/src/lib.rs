//! cmdb: the configuration-management database — attributes, CI types, CIs, relations, the
//! search language, history, and api-key signing. `start` builds the whole service so that
//! tests can run it in-process on port 0.

pub mod auth;
pub mod config;
pub mod error;
pub mod model;
mod routes;
pub use routes::table;
pub mod search;
pub mod service;
mod store;

use std::sync::Arc;

use actix_web::web;
use kit::db::{Db, Migrations};
use kit::server::{AppData, StartError};

pub use config::Config;

pub const SERVICE: &str = "cmdb";

fn migrations() -> Migrations {
    kit::migrations!()
}

/// Opens the database (running migrations), makes sure the admin user exists (and the
/// platform's `dcp_*` CI types, unless `platform.ensure_types` is off), builds the
/// search index, and binds the HTTP server; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let db = Db::open_async(&config.database, migrations()).await?;
    let cmdb = service::Cmdb::new(db.clone(), config.api_keys.clone());
    cmdb.ensure_admin()
        .await
        .map_err(|e| StartError::Setup(format!("cannot create the admin user: {e}")))?;
    if config.platform.ensure_types {
        cmdb.ensure_platform_model().await.map_err(|e| {
            StartError::Setup(format!("cannot create the platform's CI types: {e}"))
        })?;
    }
    cmdb.sync_index()
        .await
        .map_err(|e| StartError::Setup(format!("cannot build the search index: {e}")))?;
    let cmdb = web::Data::new(cmdb);
    kit::server::start(
        SERVICE,
        &config.http,
        kit::auth::Verifier::new(config.auth.clone())?,
        Arc::new(db),
        routes::table(),
        AppData::new().with(cmdb),
    )
}
