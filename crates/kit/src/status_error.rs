//! The error of the services that answer in the orchestration seed's envelope (orchestrator
//! and task-engine): `{"code": <HTTP status>, "msg": "<what is wrong>", "data": {}}`, mapped to
//! the wire here, in one place.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::db::{classify, DbError, Failure};
use crate::params::ParamsError;

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// A parameter is missing, malformed, out of range or unknown.
    #[error("{0}")]
    BadArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// A name already taken, a delete of something still used or holding children, an IP
    /// already in a pool.
    #[error("{0}")]
    Conflict(String),
    /// The service's database or a service it needs cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<ParamsError> for StatusError {
    fn from(e: ParamsError) -> Self {
        StatusError::BadArgument(e.to_string())
    }
}

impl From<DbError> for StatusError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(reason) => {
                StatusError::Unavailable(format!("database unavailable: {reason}"))
            }
            DbError::Query(q) => StatusError::from(q),
            DbError::Task(reason) => StatusError::Internal(reason),
        }
    }
}

impl From<diesel::result::Error> for StatusError {
    fn from(e: diesel::result::Error) -> Self {
        match classify(&e) {
            // Two writers raced past the existence check; the constraint caught the second.
            Failure::Duplicate(m) => StatusError::Conflict(format!("already exists ({m})")),
            Failure::StillReferenced(m) => StatusError::Conflict(format!("still referenced ({m})")),
            Failure::ConnectionLost(m) => {
                StatusError::Unavailable(format!("database unavailable: {m}"))
            }
            Failure::Busy(m) => StatusError::Unavailable(format!("database busy, try again: {m}")),
            Failure::NotFound => StatusError::NotFound("not found".into()),
            Failure::Other(m) => StatusError::Internal(format!("database error: {m}")),
        }
    }
}

impl ResponseError for StatusError {
    fn status_code(&self) -> StatusCode {
        match self {
            StatusError::BadArgument(_) => StatusCode::BAD_REQUEST,
            StatusError::NotFound(_) => StatusCode::NOT_FOUND,
            StatusError::Conflict(_) => StatusCode::CONFLICT,
            StatusError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            StatusError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        envelope(self.status_code(), &self.to_string())
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
    use actix_web::body::MessageBody;

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
