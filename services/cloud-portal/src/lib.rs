//! cloud-portal: users, sessions, images and VM instances behind a compute driver
//! (LuoYunCloud's API, see proto-docs/cloud-portal.md). `start` builds the whole service so
//! that tests can run it in-process on port 0.

pub mod api_tokens;
pub mod auth;
pub mod config;
pub mod driver;
pub mod error;
pub mod issuer;
pub mod portal;
mod routes;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use kit::db::Db;
use kit::server::{AppData, StartError};

pub use config::Config;
pub use routes::{table, PAGE_PATHS, ROUTES};

pub const SERVICE: &str = "cloud-portal";

/// Opens the database (running migrations), creates the configured admin (and demo data when
/// on), and binds the HTTP server; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let migrations = kit::migrations!();
    let db = Db::open_async(&config.database, migrations).await?;
    let driver: Arc<dyn driver::ComputeDriver> = Arc::new(driver::HostPool);
    tracing::info!(driver = driver.name(), "compute driver");
    let portal = portal::Portal::new(db.clone(), driver, &config).map_err(|e| {
        StartError::Setup(format!("cannot create the admin user or demo data: {e}"))
    })?;
    portal.bootstrap(&config).await.map_err(|e| {
        StartError::Setup(format!("cannot create the admin user or demo data: {e}"))
    })?;
    let portal = web::Data::new(portal);
    let issuer = Arc::new(
        issuer::Issuer::load_or_create(&config.issuer)
            .map_err(|e| StartError::Setup(format!("token issuer: {e}")))?,
    );
    let tokens = Arc::new(api_tokens::ApiTokens::new(db.clone(), issuer.clone()));
    let trail = web::Data::new(kit::audit::Trail::new(db.clone()));
    kit::server::start(
        SERVICE,
        &config.http,
        verifier(&config, issuer.clone(), tokens.clone())?,
        Arc::new(db),
        routes::table(),
        AppData::new()
            .with(trail)
            .with(portal)
            .with(web::Data::from(issuer))
            .with(web::Data::from(tokens)),
    )
}

/// The tokens cloud-portal accepts: those of the issuer `[auth]` names when one is configured
/// (an external OIDC provider), else its own, verified with its own keys (no HTTP round trip).
fn verifier(
    config: &Config,
    issuer: Arc<issuer::Issuer>,
    tokens: Arc<api_tokens::ApiTokens>,
) -> Result<kit::auth::Verifier, StartError> {
    if !config.auth.issuer.trim().is_empty() {
        return Ok(kit::auth::Verifier::new(config.auth.clone())?);
    }
    let own = kit::auth::AuthConfig {
        issuer: issuer.url().to_string(),
        audience: config.issuer.audience.clone(),
        jwks_url: format!("{}/oauth/jwks", issuer.url()),
        ..config.auth.clone()
    };
    // Its own API tokens are checked against its own list of revoked ones, straight from the
    // database (the same poll interval as every other service).
    let revoked = kit::revocation::RevocationSource::Local(Box::new(move |seen| {
        let tokens = tokens.clone();
        Box::pin(async move { tokens.revoked(seen).await.map_err(|e| e.to_string()) })
    }));
    Ok(kit::auth::Verifier::local(own, move || issuer.key_set()).with_revocations(revoked))
}
