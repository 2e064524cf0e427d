//! The one front door: the task-engine's routes of the seed are forwarded to the configured
//! task-engine with their method, path, query string, body and `X-Request-Id`, and its answer
//! (status and JSON body) is passed back as it came. The orchestrator calls as its own
//! identity relaying the caller's token (`X-Dcp-On-Behalf-Of`): the task-engine decides,
//! on the caller's roles, and records the caller.

use std::time::Duration;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use client::transport::Idempotence;
use client::{ClientConfig, ClientError, Credentials, Encoding, Method, Transport};
use kit::access::Caller;
use kit::RequestId;
use serde_json::Value;

use crate::config::TaskEngineConfig;
use crate::error::Error;

/// The task-engine as the front door sees it: `None` when no URL is configured.
pub struct TaskEngine {
    transport: Option<Transport>,
}

impl TaskEngine {
    pub fn new(config: &TaskEngineConfig, credentials: Credentials) -> Result<Self, ClientError> {
        let url = config.url.trim();
        if url.is_empty() {
            return Ok(TaskEngine { transport: None });
        }
        let mut client = ClientConfig::new(url).with_credentials(credentials);
        client.timeout = Duration::from_secs(match config.timeout_secs {
            0 => 30,
            n => n,
        });
        Ok(TaskEngine {
            transport: Some(Transport::new(client)?),
        })
    }
}

/// The path prefixes of the seed's task-engine routes.
const PREFIXES: [&str; 5] = ["/task", "/task_tpl", "/remote_step", "/action", "/actimpl"];

/// The path patterns forwarded, any method: the task-engine decides what each answers.
pub fn paths() -> Vec<String> {
    let mut paths = vec!["/task_step/list".to_string()];
    for prefix in PREFIXES {
        paths.push(prefix.to_string());
        paths.push(format!("{prefix}/{{tail:.*}}"));
    }
    paths
}

pub(super) async fn forward(
    req: HttpRequest,
    body: web::Bytes,
    engine: web::Data<TaskEngine>,
    request_id: RequestId,
    caller: Caller,
) -> Result<HttpResponse, Error> {
    let Some(transport) = &engine.transport else {
        return Err(Error::Unavailable(format!(
            "{} is served by the task-engine, which is not configured (set task_engine.url)",
            req.path()
        )));
    };
    let transport = transport
        .with_request_id(request_id.as_str())
        .on_behalf_of(caller.token().clone());
    let method = Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| Error::BadArgument(format!("unsupported method {}", req.method())))?;
    let path = match req.uri().query() {
        Some(query) if !query.is_empty() => format!("{}?{query}", req.path()),
        _ => req.path().to_string(),
    };
    let idempotence = if method == Method::GET {
        Idempotence::Idempotent
    } else {
        Idempotence::NotIdempotent
    };
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let sent = if body.iter().all(u8::is_ascii_whitespace) {
        let none: [(String, String); 0] = [];
        transport
            .send(method, &path, Encoding::Query, &none, idempotence)
            .await
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| Error::BadArgument(format!("unreadable request body: {e}")))?;
        transport
            .send(method, &path, Encoding::Form, &pairs, idempotence)
            .await
    } else {
        let json: Value = serde_json::from_slice(&body)
            .map_err(|e| Error::BadArgument(format!("unreadable request body: {e}")))?;
        transport
            .send(method, &path, Encoding::Json, &json, idempotence)
            .await
    };
    match sent {
        Ok(reply) => {
            let status = actix_web::http::StatusCode::from_u16(reply.status.as_u16())
                .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
            let mut response = HttpResponse::build(status);
            if let Some(allow) = reply.allow {
                response.insert_header((actix_web::http::header::ALLOW, allow));
            }
            Ok(response.json(reply.body))
        }
        Err(e @ (ClientError::Connect { .. } | ClientError::Timeout { .. })) => Err(
            Error::Unavailable(format!("task-engine unreachable: {}", e.message())),
        ),
        Err(e) => Err(Error::Unavailable(format!(
            "task-engine answered unreadably: {}",
            e.message()
        ))),
    }
}
