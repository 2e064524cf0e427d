//! Tracing setup, and the middleware that gives every request an id, a span, a log line and metrics.

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing::Instrument;
use tracing_appender::non_blocking::NonBlockingBuilder;
use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;
use crate::error::Logged;
use crate::metrics::Metrics;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Keeps the log writer's thread alive; dropping it (when `main` returns) writes out what is
/// still queued.
#[must_use = "the log writer stops when this is dropped"]
pub struct LogGuard {
    _writer: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Installs the global subscriber. Safe to call twice (tests): the second call does nothing.
///
/// Lines are formatted on the request's thread and written by a thread of their own
/// (`tracing_appender::non_blocking`, never dropping a line: a full queue makes the request
/// wait instead), to stderr or to `log.file`, which is rotated at `log.max_file_mb` keeping
/// `log.max_files` old files. Colours only when the output is a terminal.
pub fn init(log: &LogConfig) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let to_terminal = log.file.is_empty() && std::io::stderr().is_terminal();
    let json = match log.format.as_str() {
        "json" => true,
        "pretty" => false,
        _ => !to_terminal,
    };
    let (writer, guard) = if log.file.is_empty() {
        NonBlockingBuilder::default()
            .lossy(false)
            .finish(std::io::stderr())
    } else {
        let rotated = FileRotate::new(
            &log.file,
            AppendCount::new(log.max_files),
            ContentLimit::BytesSurpassed(log.max_file_mb.saturating_mul(1024 * 1024) as usize),
            Compression::None,
            None,
        );
        NonBlockingBuilder::default().lossy(false).finish(rotated)
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(to_terminal)
        .with_writer(writer);
    let installed = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
    // A second call keeps the first subscriber; its writer is not needed.
    LogGuard {
        _writer: installed.ok().map(|()| guard),
    }
}

/// The id of the request being served: taken from `X-Request-Id` or made up, and sent back.
/// Handlers pass it on to the client crate so that one id follows a call across services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn new() -> Self {
        RequestId(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts a caller's id only if it is short and printable, so it cannot corrupt logs or headers.
    fn from_header(value: &HeaderValue) -> Option<Self> {
        let text = value.to_str().ok()?.trim();
        let acceptable = !text.is_empty()
            && text.len() <= 128
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
        acceptable.then(|| RequestId(text.to_string()))
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromRequest for RequestId {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_default();
        std::future::ready(Ok(id))
    }
}

/// The outermost middleware of every service (see `server::start`).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(RequestId::from_header)
        .unwrap_or_default();
    req.extensions_mut().insert(request_id.clone());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.path(),
    );
    let started = Instant::now();

    let result = next.call(req).instrument(span.clone()).await;

    let elapsed = started.elapsed();
    let (status, route, logged) = match &result {
        Ok(res) => (
            res.status(),
            res.request().match_pattern(),
            res.response().extensions().get::<Logged>().cloned(),
        ),
        Err(err) => (err.as_response_error().status_code(), None, None),
    };
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    if let Some(metrics) = metrics {
        metrics.observe(&route, method.as_str(), status.as_u16(), elapsed);
    }
    let elapsed_us = elapsed.as_micros() as u64;
    span.in_scope(|| match logged {
        // A failure of the service: what the client was told and, never sent, its causes.
        Some(Logged { error, causes }) => {
            tracing::error!(status = status.as_u16(), route = %route, elapsed_us, error = %error, causes = %causes, "served");
        }
        None if status.is_server_error() => {
            tracing::error!(status = status.as_u16(), route = %route, elapsed_us, "served");
        }
        None => {
            tracing::info!(status = status.as_u16(), route = %route, elapsed_us, "served");
        }
    });

    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix_web::middleware::from_fn;
    use actix_web::{test, web, App, HttpResponse};

    use crate::error::Fault;
    use crate::status_error::StatusError;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            match self.0.lock() {
                Ok(mut buffer) => buffer.extend_from_slice(bytes),
                Err(poisoned) => poisoned.into_inner().extend_from_slice(bytes),
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    async fn failing() -> Result<HttpResponse, StatusError> {
        let cause = std::io::Error::other("disk on fire");
        Err(StatusError::InternalBecause(Fault::caused_by(
            "could not save",
            cause,
        )))
    }

    #[actix_web::test]
    async fn the_log_line_of_a_5xx_names_its_causes_and_the_body_does_not() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap(from_fn(super::observe))
                .route("/fail", web::get().to(failing)),
        )
        .await;
        let response =
            test::call_service(&app, test::TestRequest::get().uri("/fail").to_request()).await;
        assert_eq!(response.status(), 500);
        let body = test::read_body(response).await;
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("could not save"), "{body}");
        assert!(!body.contains("disk on fire"), "{body}");

        let log = captured.0.lock().map(|b| b.clone()).unwrap_or_default();
        let log = String::from_utf8_lossy(&log);
        let served = log
            .lines()
            .find(|line| line.contains("served"))
            .unwrap_or_else(|| panic!("no served line in {log}"));
        assert!(served.contains("ERROR"), "{served}");
        assert!(served.contains("error=could not save"), "{served}");
        assert!(served.contains("causes=disk on fire"), "{served}");
    }
}
