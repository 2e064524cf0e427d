//! The embedded issuer's routes (RFC 6749 / OpenID discovery): answers in OAuth's own JSON,
//! not the seed's envelope, so that any OAuth client library can use them.

use actix_web::http::header::{CACHE_CONTROL, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use kit::ParamsError;
use serde_json::json;

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

/// `grant_type=password` with `username` and `password`: an access token for that user.
pub async fn token(
    portal: web::Data<Portal>,
    issuer: web::Data<Issuer>,
    req: HttpRequest,
    mut p: kit::Params<OAuthError>,
) -> Result<HttpResponse, OAuthError> {
    match p.take_str("grant_type")?.as_deref() {
        Some("password") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type `{other}` is not offered: use `password`"),
            ))
        }
        None => return Err(ParamsError::Missing("grant_type".into()).into()),
    }
    let username = p.require_text("username")?;
    let password = p.require_text("password")?;
    // OAuth clients commonly send these; a public client has no secret to check.
    p.take_str("client_id")?;
    p.take_str("scope")?;
    p.finish()?;
    let user = portal
        .check_password_of(username, password, client_ip(&req))
        .await
        .map_err(OAuthError::from_portal)?;
    let token = issuer
        .access_token(&user.username, platform_roles(&user.role))
        .map_err(|e| {
            tracing::error!(error = %e, "cannot sign a token");
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "cannot sign a token",
            )
        })?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": token.token,
            "token_type": "Bearer",
            "expires_in": token.expires_in,
        })))
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
