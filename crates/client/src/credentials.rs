//! How a client proves who it is (issue #13): a bearer token it was given (a person's access
//! token, an API token), or a service identity's client credentials, exchanged at the issuer's
//! token endpoint for access tokens that are renewed before they expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use wire::identity::TokenReply;

use crate::transport::ClientError;

/// A token is renewed this long before it expires, so no request carries one that lapses on
/// the way.
const RENEW_BEFORE: Duration = Duration::from_secs(30);

/// What a client sends in `Authorization`.
#[derive(Clone, Default)]
pub enum Credentials {
    /// Nothing: the public routes (and the seeds' own credentials, sent as parameters).
    #[default]
    None,
    /// This bearer token, as it is.
    Bearer(SecretString),
    /// A service identity: `grant_type=client_credentials` at `token_url`.
    Client(Arc<ClientCredentials>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Bearer(_) => f.write_str("Bearer(..)"),
            Credentials::Client(client) => write!(f, "Client({})", client.client_id),
        }
    }
}

impl Credentials {
    pub fn bearer(token: impl Into<String>) -> Credentials {
        Credentials::Bearer(SecretString::from(token.into()))
    }

    /// A service identity's credentials (tokens fetched when first needed).
    pub fn client(token_url: &str, client_id: &str, client_secret: SecretString) -> Credentials {
        Credentials::Client(Arc::new(ClientCredentials {
            token_url: token_url.to_string(),
            client_id: client_id.to_string(),
            client_secret,
            http: reqwest::Client::new(),
            cached: Mutex::new(None),
        }))
    }

    /// The `Authorization` value to send, if any.
    pub async fn authorization(&self) -> Result<Option<String>, ClientError> {
        match self {
            Credentials::None => Ok(None),
            Credentials::Bearer(token) => Ok(Some(format!("Bearer {}", token.expose_secret()))),
            Credentials::Client(client) => {
                let token = client.token().await?;
                Ok(Some(format!("Bearer {}", token.expose_secret())))
            }
        }
    }
}

/// A service identity and its current access token.
pub struct ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    http: reqwest::Client,
    cached: Mutex<Option<(SecretString, Instant)>>,
}

impl ClientCredentials {
    /// A valid access token: the cached one, or a new one from the token endpoint.
    pub async fn token(&self) -> Result<SecretString, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, renew_at)) = cached.as_ref() {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        let reply = token_request(
            &self.http,
            &self.token_url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
            ],
        )
        .await?;
        let lifetime = Duration::from_secs(reply.expires_in);
        let renew_at = Instant::now() + lifetime.saturating_sub(RENEW_BEFORE);
        let token = SecretString::from(reply.access_token);
        *cached = Some((token.clone(), renew_at));
        Ok(token)
    }
}

/// `[identity]` of a service that calls its peers: its own service identity at the issuer's
/// token endpoint (client credentials). Empty `client_id`: the service calls without one.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    /// The issuer's token endpoint, e.g. `http://cloud-portal:8005/oauth/token`.
    pub token_url: String,
    pub client_id: String,
    #[serde(serialize_with = "hidden")]
    pub client_secret: SecretString,
}

fn hidden<S: serde::Serializer>(_: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("")
}

impl std::fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl IdentityConfig {
    pub fn is_configured(&self) -> bool {
        !self.client_id.trim().is_empty()
    }

    /// What is missing or malformed, as `(key, reason)` (keys under `identity.`).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if !self.is_configured() {
            return None;
        }
        if !(self.token_url.starts_with("http://") || self.token_url.starts_with("https://")) {
            return Some(("identity.token_url", "must be an http:// or https:// URL"));
        }
        if self.client_secret.expose_secret().is_empty() {
            return Some((
                "identity.client_secret",
                "must be set with identity.client_id",
            ));
        }
        None
    }

    /// The credentials this identity calls with (none when it is not configured).
    pub fn credentials(&self) -> Credentials {
        if !self.is_configured() {
            return Credentials::None;
        }
        Credentials::client(&self.token_url, &self.client_id, self.client_secret.clone())
    }
}

/// A person's access token by the password grant at `token_url` (the embedded issuer's
/// `/oauth/token`): for scripts, tests and `dcpctl login`.
pub async fn password_grant(
    token_url: &str,
    username: &str,
    password: &str,
) -> Result<TokenReply, ClientError> {
    token_request(
        &reqwest::Client::new(),
        token_url,
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

/// One request to the token endpoint (RFC 6749, 4.3 and 4.4) and its answer.
async fn token_request(
    http: &reqwest::Client,
    token_url: &str,
    form: &[(&str, &str)],
) -> Result<TokenReply, ClientError> {
    let refused = |reason: String| ClientError::Credentials {
        url: token_url.to_string(),
        reason,
    };
    let reply = http
        .post(token_url)
        .timeout(Duration::from_secs(10))
        .form(form)
        .send()
        .await
        .map_err(|e| refused(e.to_string()))?;
    let status = reply.status();
    if !status.is_success() {
        let body = reply.text().await.unwrap_or_default();
        return Err(refused(format!("HTTP {status}: {body}")));
    }
    reply.json().await.map_err(|e| refused(e.to_string()))
}
