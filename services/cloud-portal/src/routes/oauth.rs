//! The embedded issuer's routes (RFC 6749 / OpenID discovery): answers in OAuth's own JSON,
//! not the seed's envelope, so that any OAuth client library can use them.

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use kit::ParamsError;
use serde_json::json;
use wire::cloud_portal as w;
use wire::identity::TokenReply;

use super::client_ip;
use crate::error::Error;
use crate::issuer::{platform_roles, Issuer};
use crate::portal::Portal;

pub async fn discovery(issuer: web::Data<Issuer>) -> HttpResponse {
    HttpResponse::Ok().json(issuer.discovery())
}

pub async fn jwks(issuer: web::Data<Issuer>) -> HttpResponse {
    // Verifiers cache the keys themselves; a short public cache keeps proxies useful.
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=60"))
        .json(issuer.jwks())
}

/// `grant_type=password` (`username`, `password`): an access token for that user, and a
/// refresh token. `grant_type=refresh_token` (`refresh_token`): a new pair for the user of a
/// refresh token, which is used up.
/// `grant_type=client_credentials` (`client_id`, `client_secret`, in the form or as HTTP
/// Basic): an access token for a service identity — a portal account with the role
/// `service`, its username the client id, its password the secret.
pub async fn token(
    portal: web::Data<Portal>,
    issuer: web::Data<Issuer>,
    req: HttpRequest,
    mut p: kit::Params<OAuthError>,
) -> Result<HttpResponse, OAuthError> {
    let grant = p.take_str("grant_type")?;
    let user = match grant.as_deref() {
        Some("password") => {
            let username = p.require_text("username")?;
            let password = p.require_text("password")?;
            // OAuth clients commonly send these; a public client has no secret to check.
            p.take_str("client_id")?;
            p.take_str("scope")?;
            p.finish()?;
            portal
                .check_password_of(username, password, client_ip(&req))
                .await
                .map_err(OAuthError::from_portal)?
        }
        Some("client_credentials") => {
            let (id, secret) = match basic_credentials(&req) {
                Some(pair) => pair,
                None => (
                    p.require_text("client_id")?,
                    p.require_text("client_secret")?,
                ),
            };
            p.take_str("scope")?;
            p.finish()?;
            let user = portal
                .check_password_of(id, secret, client_ip(&req))
                .await
                .map_err(OAuthError::from_portal)?;
            if user.role != w::ROLE_SERVICE {
                // Only service accounts are clients; a person signs in with the password grant.
                return Err(OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "not a service account: people use grant_type=password",
                ));
            }
            user
        }
        // RFC 6749, 6: a new access token (roles and grants read now) and a new refresh token
        // for the one given, which is used up.
        Some("refresh_token") => {
            let refresh = p.require_text("refresh_token")?;
            p.take_str("client_id")?;
            p.take_str("scope")?;
            p.finish()?;
            portal
                .redeem_refresh_token(refresh)
                .await
                .map_err(OAuthError::from_portal)?
                .ok_or_else(|| {
                    OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "the refresh token is unknown, expired or already used: sign in again",
                    )
                })?
        }
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type `{other}` is not offered: use `password`, `client_credentials` or `refresh_token`"
                ),
            ))
        }
        None => return Err(ParamsError::Missing("grant_type".into()).into()),
    };
    // The user's roles on single clusters, read now: a grant added or revoked shows in the
    // next token (a token already out keeps what it says until it expires).
    let grants = portal
        .token_grants_of(user.id)
        .await
        .map_err(OAuthError::from_portal)?;
    let roles = platform_roles(&user.role);
    let token = issuer
        .access_token(&user.username, roles, &grants)
        .map_err(|e| {
            tracing::error!(error = %e, "cannot sign a token");
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "cannot sign a token",
            )
        })?;
    tracing::info!(
        subject = %user.username,
        grant_type = grant.as_deref().unwrap_or_default(),
        roles = ?roles,
        grants = ?grants,
        "access token issued"
    );
    // People get a refresh token; a service asks again with its credentials (RFC 6749, 4.4.3).
    let refresh_token = if user.role == w::ROLE_SERVICE {
        None
    } else {
        Some(
            portal
                .issue_refresh_token(user.id, issuer.refresh_ttl_secs())
                .await
                .map_err(OAuthError::from_portal)?,
        )
    };
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(TokenReply {
            access_token: token.token,
            token_type: "Bearer".into(),
            expires_in: token.expires_in,
            refresh_token,
        }))
}

/// The client id and secret of an `Authorization: Basic` header (RFC 6749, 2.3.1).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// A refusal of the token endpoint, answered as OAuth says (RFC 6749, 5.2).
#[derive(Debug, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    retry_after_secs: Option<u64>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            retry_after_secs: None,
        }
    }

    /// The portal's refusal of a password check, in OAuth's terms.
    fn from_portal(error: Error) -> Self {
        match error {
            Error::LoginFailed => OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "wrong username or password",
            ),
            Error::LoginThrottled { retry_after_secs } => OAuthError {
                retry_after_secs: Some(retry_after_secs),
                ..OAuthError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "slow_down",
                    format!("too many failed attempts: retry in {retry_after_secs} s"),
                )
            },
            other => {
                let status = actix_web::ResponseError::status_code(&other);
                tracing::error!(error = %other, "token endpoint failed");
                let error = if status == StatusCode::SERVICE_UNAVAILABLE {
                    "temporarily_unavailable"
                } else {
                    "server_error"
                };
                OAuthError::new(status, error, other.to_string())
            }
        }
    }
}

impl From<ParamsError> for OAuthError {
    fn from(e: ParamsError) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut answer = HttpResponse::build(self.status);
        answer.insert_header((CACHE_CONTROL, "no-store"));
        if let Some(secs) = self.retry_after_secs {
            answer.insert_header((RETRY_AFTER, secs.to_string()));
        }
        answer.json(json!({"error": self.error, "error_description": self.description}))
    }
}
