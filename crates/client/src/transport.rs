//! What every service client shares: the HTTP client, timeouts, request ids and retries.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use wire::identity::ON_BEHALF_OF;

use crate::credentials::Credentials;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `http://127.0.0.1:8001`
    pub base_url: String,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Extra attempts for idempotent calls after a connection error.
    pub retries: u32,
    pub retry_delay: Duration,
    /// Who the client is: sent as `Authorization` on every call.
    pub credentials: Credentials,
}

impl ClientConfig {
    pub fn new(base_url: &str) -> Self {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            retries: 2,
            retry_delay: Duration::from_millis(100),
            credentials: Credentials::None,
        }
    }

    /// The same configuration, calling as `credentials`.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The same configuration, sending this bearer token.
    pub fn with_token(self, token: impl Into<String>) -> Self {
        self.with_credentials(Credentials::bearer(token))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error in its own envelope.
    #[error("{url} answered HTTP {status}, code {code}: {message}")]
    Api {
        url: String,
        status: u16,
        code: i64,
        message: String,
    },
    #[error("cannot reach {url} ({attempts} attempt(s)): {reason}")]
    Connect {
        url: String,
        reason: String,
        attempts: u32,
    },
    #[error("no answer from {url} within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("unexpected answer from {url}: {reason}")]
    Decode { url: String, reason: String },
    /// No access token could be had for the client's service identity.
    #[error("no access token from {url}: {reason}")]
    Credentials { url: String, reason: String },
}

impl ClientError {
    /// The service's error code, when the service answered.
    pub fn code(&self) -> Option<i64> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// How many times a call that could not connect was tried.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            ClientError::Connect { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ClientError::Api { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// How parameters travel: in the query string, as a form body, or as a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Query,
    Form,
    Json,
}

/// Whether a call may be repeated after a connection error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    Idempotent,
    NotIdempotent,
}

/// An answer as it came: HTTP status and JSON body.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub status: StatusCode,
    pub request_id: Option<String>,
    /// The `Allow` header of a 405, for a front door to pass on.
    pub allow: Option<String>,
    pub body: serde_json::Value,
}

#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    config: ClientConfig,
    request_id: Option<String>,
    /// The person this client acts for, relayed in `X-Dcp-On-Behalf-Of`.
    on_behalf_of: Option<SecretString>,
}

impl Transport {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| ClientError::Connect {
                url: config.base_url.clone(),
                reason: e.to_string(),
                attempts: 0,
            })?;
        Ok(Transport {
            http,
            config,
            request_id: None,
            on_behalf_of: None,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The same transport, sending `id` as `X-Request-Id` (a handler passes its own id on).
    pub fn with_request_id(&self, id: &str) -> Self {
        Transport {
            request_id: Some(id.to_string()),
            ..self.clone()
        }
    }

    /// The same transport, acting for the person whose access token is `token` (the
    /// transport's own credentials authorize the relay).
    pub fn on_behalf_of(&self, token: SecretString) -> Self {
        Transport {
            on_behalf_of: Some(token),
            ..self.clone()
        }
    }

    /// `request` with the request id, the credentials and the relayed person.
    async fn prepare(
        &self,
        mut request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        if let Some(id) = &self.request_id {
            request = request.header(REQUEST_ID_HEADER, id);
        }
        if let Some(value) = self.config.credentials.authorization().await? {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(person) = &self.on_behalf_of {
            request = request.header(ON_BEHALF_OF, person.expose_secret());
        }
        Ok(request)
    }

    /// Sends `params` to `path` and returns the answer whatever its status.
    pub async fn send<P: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        encoding: Encoding,
        params: &P,
        idempotence: Idempotence,
    ) -> Result<RawReply, ClientError> {
        let url = format!("{}{}", self.config.base_url, path);
        let attempts = match idempotence {
            Idempotence::Idempotent => self.config.retries + 1,
            Idempotence::NotIdempotent => 1,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), &url);
            request = match encoding {
                Encoding::Query => request.query(params),
                Encoding::Form => request.form(params),
                Encoding::Json => request.json(params),
            };
            request = self.prepare(request).await?;
            match request.send().await {
                Ok(response) => return read(url, response).await,
                Err(e) if e.is_connect() && attempt < attempts => {
                    tracing::debug!(%url, attempt, error = %e, "connection failed, retrying");
                    tokio::time::sleep(self.config.retry_delay * attempt).await;
                }
                Err(e) if e.is_timeout() => {
                    return Err(ClientError::Timeout {
                        url,
                        seconds: self.config.timeout.as_secs(),
                    })
                }
                Err(e) => {
                    return Err(ClientError::Connect {
                        url,
                        reason: e.to_string(),
                        attempts: attempt,
                    })
                }
            }
        }
    }

    /// Sends a JSON object's fields as `encoding` says (query and form values written out as
    /// text); GETs are retried on connection errors, other methods are not.
    pub async fn send_value(
        &self,
        method: Method,
        path: &str,
        encoding: Encoding,
        params: &serde_json::Value,
    ) -> Result<RawReply, ClientError> {
        let idempotence = if method == Method::GET {
            Idempotence::Idempotent
        } else {
            Idempotence::NotIdempotent
        };
        match encoding {
            Encoding::Query | Encoding::Form => {
                let pairs = as_pairs(params);
                self.send(method, path, encoding, &pairs, idempotence).await
            }
            Encoding::Json => self.send(method, path, encoding, params, idempotence).await,
        }
    }

    /// POSTs `body` as it is with this content type (for tests of unreadable bodies).
    pub async fn post_bytes(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<RawReply, ClientError> {
        let url = format!("{}{}", self.config.base_url, path);
        let request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        let request = self.prepare(request).await?;
        match request.send().await {
            Ok(response) => read(url, response).await,
            Err(e) if e.is_timeout() => Err(ClientError::Timeout {
                url,
                seconds: self.config.timeout.as_secs(),
            }),
            Err(e) => Err(ClientError::Connect {
                url,
                reason: e.to_string(),
                attempts: 1,
            }),
        }
    }

    /// A plain GET of a path that answers text (e.g. `/metrics`).
    pub async fn get_text(&self, path: &str) -> Result<(StatusCode, String), ClientError> {
        let url = format!("{}{}", self.config.base_url, path);
        let response = self
            .prepare(self.http.get(&url))
            .await?
            .send()
            .await
            .map_err(|e| ClientError::Connect {
                url: url.clone(),
                reason: e.to_string(),
                attempts: 1,
            })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| ClientError::Decode {
            url,
            reason: e.to_string(),
        })?;
        Ok((status, text))
    }
}

async fn read(url: String, response: reqwest::Response) -> Result<RawReply, ClientError> {
    let status = response.status();
    let request_id = response
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let allow = response
        .headers()
        .get(reqwest::header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.map_err(|e| ClientError::Decode {
        url: url.clone(),
        reason: e.to_string(),
    })?;
    let body = serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
        url,
        reason: format!(
            "HTTP {status}, not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        ),
    })?;
    Ok(RawReply {
        status,
        request_id,
        allow,
        body,
    })
}

/// Decodes `T` from a JSON value, naming the URL on failure.
pub fn decode<T: DeserializeOwned>(url: &str, value: serde_json::Value) -> Result<T, ClientError> {
    serde_json::from_value(value).map_err(|e| ClientError::Decode {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// Flattens a JSON object into text pairs for a query string or a form.
pub fn as_pairs(params: &serde_json::Value) -> Vec<(String, String)> {
    match params {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `with_request_id` and `transport` of a client: a `Clone` struct with a `transport` field.
macro_rules! transport_accessors {
    ($name:ident) => {
        impl $name {
            /// The same client, sending `id` as `X-Request-Id` on every call.
            pub fn with_request_id(&self, id: &str) -> Self {
                $name {
                    transport: self.transport.with_request_id(id),
                    ..self.clone()
                }
            }

            /// The same client, acting for the person whose access token is `token`.
            pub fn on_behalf_of(&self, token: secrecy::SecretString) -> Self {
                $name {
                    transport: self.transport.on_behalf_of(token),
                    ..self.clone()
                }
            }

            pub fn transport(&self) -> &$crate::transport::Transport {
                &self.transport
            }
        }
    };
}
pub(crate) use transport_accessors;
