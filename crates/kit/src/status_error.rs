//! The error of the services that answer in the orchestration seed's envelope (orchestrator
//! and task-engine): `{"code": <HTTP status>, "msg": "<what is wrong>", "data": {}}`, mapped to
//! the wire here, in one place. The conversions and the answering are `kit::error`'s.
//!
//! `Unavailable(String)` and `Internal(String)` are for failures the service finds itself;
//! `UnavailableBecause` and `InternalBecause` keep the error underneath for the log.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use crate::error::{Fault, Kind, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A parameter is missing, malformed, out of range or unknown.
    #[error("{0}")]
    BadArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// The caller's roles or grants do not reach what it touches (issue #13).
    #[error("{0}")]
    Forbidden(String),
    /// A name already taken, a delete of something still used or holding children, an IP
    /// already in a pool.
    #[error("{0}")]
    Conflict(String),
    /// The service's database or a service it needs cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    /// As `Unavailable`, with the error underneath kept as the source (for the log only).
    #[error(transparent)]
    UnavailableBecause(Fault),
    /// As `Internal`, with the error underneath kept as the source (for the log only).
    #[error(transparent)]
    InternalBecause(Fault),
}

impl ServiceError for StatusError {
    fn of_kind(kind: Kind, fault: Fault) -> Self {
        match kind {
            Kind::BadArgument => StatusError::BadArgument(fault.into_message()),
            Kind::NotFound => StatusError::NotFound(fault.into_message()),
            // Two writers raced past the existence check; the constraint caught the second.
            Kind::Duplicate | Kind::StillReferenced => StatusError::Conflict(fault.into_message()),
            Kind::Unavailable | Kind::Busy => StatusError::UnavailableBecause(fault),
            Kind::Internal => StatusError::InternalBecause(fault),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            StatusError::BadArgument(_) => StatusCode::BAD_REQUEST,
            StatusError::NotFound(_) => StatusCode::NOT_FOUND,
            StatusError::Forbidden(_) => StatusCode::FORBIDDEN,
            StatusError::Conflict(_) => StatusCode::CONFLICT,
            StatusError::Unavailable(_) | StatusError::UnavailableBecause(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            StatusError::Internal(_) | StatusError::InternalBecause(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn envelope(&self, status: StatusCode) -> HttpResponse {
        envelope(status, &self.to_string())
    }
}

crate::service_error!(StatusError);

impl StatusError {
    /// Whether this is a 503: the database or a service needed cannot be reached now, and the
    /// same request may succeed later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StatusError::Unavailable(_) | StatusError::UnavailableBecause(_)
        )
    }
}

impl From<crate::access::Denied> for StatusError {
    fn from(denied: crate::access::Denied) -> Self {
        StatusError::Forbidden(denied.to_string())
    }
}

/// The envelope of an error: `{"code": <status>, "msg": ..., "data": {}}` (the seed's error
/// examples carry `"data": {}`).
pub fn envelope(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({
        "code": status.as_u16(),
        "msg": message,
        "data": {},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamsError;
    use actix_web::body::MessageBody;
    use actix_web::ResponseError;

    #[test]
    fn the_status_is_the_code_and_the_reason_the_msg() {
        let response = StatusError::NotFound("task 7 does not exist".into()).error_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.into_body().try_into_bytes().expect("a JSON body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            body,
            json!({"code": 404, "msg": "task 7 does not exist", "data": {}})
        );
    }

    #[test]
    fn a_bad_parameter_is_a_400() {
        let e = StatusError::from(ParamsError::Missing("page".into()));
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
    }
}
