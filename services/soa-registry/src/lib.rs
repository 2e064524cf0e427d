//! soa-registry: services and their servers in ZooKeeper under `/soa/services`, one ZooKeeper
//! ensemble (or the embedded store) per `zkidc`. `start` builds the whole service so that tests
//! can run it in-process on port 0.

pub mod config;
pub mod error;
pub mod health;
mod metrics;
pub mod registry;
mod routes;
pub mod store;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use kit::server::AppData;

pub use config::Config;
pub use registry::Registry;
pub use routes::{table, ROUTES};

pub const SERVICE: &str = "soa-registry";

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] registry::OpenError),
    #[error(transparent)]
    Config(#[from] kit::config::ConfigError),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
}

/// `/readyz`: every zkidc's store answers.
struct Ready(Arc<Registry>);

impl kit::server::Readiness for Ready {
    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(self.0.ready())
    }
}

/// Opens every zkidc's store and binds the HTTP server; await `server` to serve.
pub async fn start(config: Config) -> Result<kit::server::Bound, StartError> {
    let registry = Arc::new(Registry::open(&config).await?);
    health::spawn(&registry, &config);
    let data = web::Data::from(registry.clone());
    let metrics = Arc::new(metrics::RegistryMetrics {
        registry: registry.clone(),
        health: config.health.clone(),
    });
    let verifier = kit::auth::Verifier::new(config.auth.clone())?;
    kit::server::bind_with_metrics(
        SERVICE,
        &config.http,
        verifier,
        Arc::new(Ready(registry)),
        Some(metrics),
        routes::table(),
        AppData::new().with(data),
    )
    .map_err(|source| StartError::Bind {
        bind: config.http.bind.clone(),
        source,
    })
}
