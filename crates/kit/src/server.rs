//! The HTTP server every service runs: its routes, plus `/healthz`, `/readyz`, `/metrics`,
//! the request middleware, and graceful shutdown on SIGTERM/SIGINT (actix-web's own).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};

use crate::access::{Access, Rule};
use crate::auth::{Role, Verifier};
use crate::config::HttpConfig;
use crate::guard::{Guard, OriginPolicy};
use crate::metrics::Metrics;
use crate::routes::RouteTable;

/// What `/readyz` asks: the database, ZooKeeper, or whatever the service cannot work without.
pub trait Readiness: Send + Sync + 'static {
    fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// More Prometheus text for `/metrics`, appended after the HTTP metrics: a service's own series
/// (complete `# HELP`/`# TYPE` blocks, each line ending in `\n`).
pub trait ExtraMetrics: Send + Sync + 'static {
    fn render(&self) -> Pin<Box<dyn Future<Output = String> + Send + '_>>;
}

/// Why a service could not start, for its `start()` (printed by `kit::entry::run`).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] crate::db::OpenError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    /// A service's own start-up step (creating its admin user, demo data, ...).
    #[error("{0}")]
    Setup(String),
}

/// [`bind`] for a service's `start()`: the error says which address could not be bound.
pub fn start(
    name: &'static str,
    http: &HttpConfig,
    verifier: Verifier,
    readiness: Arc<dyn Readiness>,
    table: RouteTable,
    data: AppData,
) -> Result<Bound, StartError> {
    bind(name, http, verifier, readiness, table, data).map_err(|source| StartError::Bind {
        bind: http.bind.clone(),
        source,
    })
}

/// A bound, not yet awaited server: `addr` is where it listens (useful with port 0).
pub struct Bound {
    pub addr: SocketAddr,
    pub server: Server,
}

/// Binds the service: its route table (with the 404 and 405 answers, each route behind its
/// authorization decision, checked with `verifier`), behind the request guard
/// ([`crate::guard`]), with `data`, the state its handlers extract.
pub fn bind(
    name: &'static str,
    http: &HttpConfig,
    verifier: Verifier,
    readiness: Arc<dyn Readiness>,
    table: RouteTable,
    data: AppData,
) -> std::io::Result<Bound> {
    bind_with_metrics(name, http, verifier, readiness, None, table, data)
}

/// The state a service's handlers extract (`web::Data<T>`), added to every worker's app.
#[derive(Clone, Default)]
pub struct AppData(Vec<Arc<AddData>>);

/// Adds one piece of state to a worker's app.
type AddData = dyn Fn(&mut web::ServiceConfig) + Send + Sync;

impl AppData {
    pub fn new() -> Self {
        AppData::default()
    }

    /// Adds `data` (an `Arc` inside: every worker shares the one value).
    pub fn with<T: Send + Sync + 'static>(mut self, data: web::Data<T>) -> Self {
        self.0.push(Arc::new(move |cfg| {
            cfg.app_data(data.clone());
        }));
        self
    }

    fn register(&self, cfg: &mut web::ServiceConfig) {
        for add in &self.0 {
            add(cfg);
        }
    }
}

/// [`bind`], with `extra` rendered at the end of `/metrics`.
pub fn bind_with_metrics(
    name: &'static str,
    http: &HttpConfig,
    verifier: Verifier,
    readiness: Arc<dyn Readiness>,
    extra: Option<Arc<dyn ExtraMetrics>>,
    table: RouteTable,
    data: AppData,
) -> std::io::Result<Bound> {
    let metrics = web::Data::new(Metrics::new(name));
    let extra = web::Data::new(ExtraMetricsSource(extra));
    let readiness = web::Data::from(Arc::new(ReadinessCheck(readiness)));
    let service = web::Data::new(ServiceName(name));
    let verifier = web::Data::new(verifier);
    let metrics_rule = Rule {
        access: if http.public_metrics {
            Access::Public
        } else {
            Access::Role(Role::Viewer)
        },
        seed_credential: false,
    };
    let envelope = table.envelope();
    let guard = Arc::new(Guard::new(http, &table));
    let origins = web::Data::new(OriginPolicy {
        envelope: table.envelope(),
        allowed_origins: http.allowed_origins(),
    });
    let mut server = HttpServer::new(move || {
        let guard = guard.clone();
        let data = data.clone();
        let table = table.clone();
        App::new()
            .app_data(metrics.clone())
            .app_data(extra.clone())
            .app_data(readiness.clone())
            .app_data(service.clone())
            .app_data(verifier.clone())
            .app_data(origins.clone())
            // The guard has read the body already and bounded it; extractors take what it let in.
            .app_data(web::PayloadConfig::new(guard.largest_body()))
            .wrap(from_fn(move |req, next| {
                crate::guard::check(guard.clone(), req, next)
            }))
            .wrap(from_fn(crate::telemetry::observe))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route(
                "/metrics",
                web::get().to(metrics_text).wrap(from_fn(move |req, next| {
                    crate::access::authorize(metrics_rule, envelope, req, next)
                })),
            )
            .configure(move |cfg| {
                data.register(cfg);
                table.configure(cfg);
            })
    })
    .shutdown_timeout(http.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(http.header_timeout_secs))
    .keep_alive(Duration::from_secs(http.keep_alive_secs))
    // What a flood of connections may take (crate::memory): past the cap, a worker takes no
    // new connection until one of its own closes; they wait in the listen backlog.
    .max_connections(http.max_connections_per_worker);
    if http.workers > 0 {
        server = server.workers(http.workers);
    }
    let server = server.bind(&http.bind)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the server bound no address"))?;
    tracing::info!(service = name, %addr, "listening");
    crate::memory::start_trimming(Duration::from_secs(http.memory_trim_secs));
    Ok(Bound {
        addr,
        server: server.run(),
    })
}

struct ReadinessCheck(Arc<dyn Readiness>);
struct ServiceName(&'static str);
struct ExtraMetricsSource(Option<Arc<dyn ExtraMetrics>>);

async fn healthz(service: web::Data<ServiceName>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok", "service": service.0}))
}

async fn readyz(check: web::Data<ReadinessCheck>, service: web::Data<ServiceName>) -> HttpResponse {
    match check.0.ready().await {
        Ok(()) => {
            HttpResponse::Ok().json(serde_json::json!({"status": "ready", "service": service.0}))
        }
        Err(reason) => HttpResponse::ServiceUnavailable().json(
            serde_json::json!({"status": "unavailable", "service": service.0, "reason": reason}),
        ),
    }
}

async fn metrics_text(
    metrics: web::Data<Metrics>,
    extra: web::Data<ExtraMetricsSource>,
) -> HttpResponse {
    let mut text = metrics.render();
    if let Some(extra) = &extra.0 {
        text.push_str(&extra.render().await);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AuthConfig;
    use crate::routes::Refusal;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    struct Ready;

    impl Readiness for Ready {
        fn ready(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn envelope(refusal: &Refusal) -> HttpResponse {
        HttpResponse::build(refusal.status()).finish()
    }

    /// Sends `GET /healthz` on `stream`; the connection stays open (HTTP/1.1 keep-alive).
    async fn ask(stream: &mut TcpStream) {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("request sent");
    }

    /// The status line of the reply that arrives on `stream`.
    async fn status_line(stream: &mut TcpStream) -> String {
        let mut reply = [0u8; 64];
        let read = stream.read(&mut reply).await.expect("reply read");
        String::from_utf8_lossy(&reply[..read])
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    // The cap queues the connection past it (the listen backlog keeps it) rather than refusing
    // it: nothing answers it while the first is open, and it is served once the first closes.
    #[actix_web::test]
    async fn a_worker_at_its_connection_cap_takes_the_next_connection_once_one_closes() {
        let http = HttpConfig {
            workers: 1,
            max_connections_per_worker: 1,
            memory_trim_secs: 0,
            ..HttpConfig::on_port(0)
        };
        let verifier = Verifier::local(
            AuthConfig {
                issuer: "https://issuer.test".into(),
                audience: "dcp".into(),
                ..AuthConfig::default()
            },
            || jsonwebtoken::jwk::JwkSet { keys: Vec::new() },
        );
        let bound = bind(
            "cap-test",
            &http,
            verifier,
            Arc::new(Ready),
            RouteTable::new(envelope),
            AppData::new(),
        )
        .expect("bound");
        let handle = bound.server.handle();
        actix_web::rt::spawn(bound.server);

        let mut first = TcpStream::connect(bound.addr)
            .await
            .expect("first connects");
        ask(&mut first).await;
        assert_eq!(status_line(&mut first).await, "HTTP/1.1 200 OK");

        // The kernel completes the handshake; the worker, at its cap, does not take it.
        let mut second = TcpStream::connect(bound.addr)
            .await
            .expect("second connects");
        ask(&mut second).await;
        let early =
            tokio::time::timeout(Duration::from_millis(500), status_line(&mut second)).await;
        assert!(
            early.is_err(),
            "the connection past the cap was served while the first was open: {early:?}"
        );

        drop(first);
        let late = tokio::time::timeout(Duration::from_secs(10), status_line(&mut second))
            .await
            .expect("the queued connection is served once the first closes");
        assert_eq!(late, "HTTP/1.1 200 OK");
        handle.stop(false).await;
    }
}
