//! What every request meets before routing: the length of its target and its body, read whole
//! within a size and a time limit; and what every write meets after routing: the cross-site
//! rule. Refusals are written in the service's envelope ([`crate::routes::Envelope`]).

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, CONTENT_LENGTH, HOST, ORIGIN, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use actix_web::{Error, HttpMessage};
use futures_util::StreamExt;

use crate::config::HttpConfig;
use crate::routes::{refuse, Envelope, Refusal, RouteTable};

/// The limits of one service, built once from its configuration and route table.
pub struct Guard {
    envelope: Envelope,
    max_uri_bytes: usize,
    max_body_bytes: usize,
    body_timeout: Duration,
    /// Routes with a body limit of their own.
    larger_bodies: Vec<(ResourceDef, usize)>,
}

impl Guard {
    pub fn new(http: &HttpConfig, table: &RouteTable) -> Self {
        Guard {
            envelope: table.envelope(),
            max_uri_bytes: http.max_uri_bytes,
            max_body_bytes: http.max_body_bytes,
            body_timeout: Duration::from_secs(http.body_timeout_secs),
            larger_bodies: table
                .specs()
                .filter_map(|spec| {
                    spec.body_limit
                        .map(|limit| (ResourceDef::new(spec.path.as_str()), limit))
                })
                .collect(),
        }
    }

    /// The largest body any route takes: what actix's own extractors are allowed.
    pub fn largest_body(&self) -> usize {
        self.larger_bodies
            .iter()
            .map(|(_, limit)| *limit)
            .fold(self.max_body_bytes, usize::max)
    }

    fn body_limit(&self, path: &str) -> usize {
        self.larger_bodies
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map_or(self.max_body_bytes, |(_, limit)| *limit)
    }
}

/// The middleware: `kit::server` wraps every app in it.
pub async fn check(
    guard: Arc<Guard>,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let refused = |req: ServiceRequest, refusal: Refusal| {
        let response = refuse(guard.envelope, &refusal);
        Ok(req.into_response(response))
    };
    let target = req
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if target > guard.max_uri_bytes {
        let limit = guard.max_uri_bytes;
        return refused(req, Refusal::UriTooLong { limit });
    }
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = req.headers().contains_key(TRANSFER_ENCODING);
    if chunked || length.is_some_and(|n| n > 0) {
        let limit = guard.body_limit(req.path());
        if length.is_some_and(|n| n > limit as u64) {
            return refused(req, Refusal::BodyTooLarge { limit });
        }
        match read_body(req.take_payload(), limit, guard.body_timeout).await {
            Ok(body) => req.set_payload(Payload::from(body.freeze())),
            Err(refusal) => return refused(req, refusal),
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The whole body, or why not: too large, too slow, or broken off.
async fn read_body(
    mut payload: Payload,
    limit: usize,
    timeout: Duration,
) -> Result<BytesMut, Refusal> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut body = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_) => {
                return Err(Refusal::BodyTimeout {
                    secs: timeout.as_secs(),
                })
            }
            Ok(None) => return Ok(body),
            Ok(Some(Err(e))) => {
                return Err(Refusal::BodyUnreadable {
                    reason: e.to_string(),
                })
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        if body.len() + chunk.len() > limit {
            return Err(Refusal::BodyTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
}

/// Who may send writes from a browser: the service's own origin, and those configured in
/// `http.allowed_origins`. `kit::server` puts it in the app's data; the route table checks it
/// on every write and forwarded route ([`refuse_cross_site`]).
pub struct OriginPolicy {
    pub envelope: Envelope,
    pub allowed_origins: Vec<String>,
}

impl OriginPolicy {
    /// A request a browser sends for another site's page: `Sec-Fetch-Site` says so, or its
    /// `Origin` is neither the request's own host nor an allowed origin.
    fn cross_site_origin(&self, headers: &HeaderMap) -> Option<String> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let origin =
            text(ORIGIN.as_str()).map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase());
        if let Some(origin) = &origin {
            if self.allowed_origins.contains(origin) {
                return None;
            }
        }
        if let Some(site) = text("sec-fetch-site") {
            if !matches!(site, "same-origin" | "none") {
                return Some(origin.unwrap_or_else(|| format!("Sec-Fetch-Site: {site}")));
            }
        }
        let origin = origin?;
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        let host = text(HOST.as_str()).map(str::to_ascii_lowercase);
        match (authority, host) {
            (Some(authority), Some(host)) if authority == host => None,
            _ => Some(origin),
        }
    }
}

/// The middleware of write and forwarded routes: a page of another site cannot make a
/// browser change anything here (the seeds let some writes be GETs, and forms are simple
/// requests). A request without browser headers (`curl`, the services' clients) passes.
pub async fn refuse_cross_site(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let refusal = req
        .app_data::<actix_web::web::Data<OriginPolicy>>()
        .and_then(|policy| {
            policy
                .cross_site_origin(req.headers())
                .map(|origin| (policy.envelope, Refusal::CrossSite { origin }))
        });
    match refusal {
        Some((envelope, refusal)) => {
            let response = refuse(envelope, &refusal);
            Ok(req.into_response(response))
        }
        None => next.call(req).await,
    }
}
