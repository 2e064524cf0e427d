//! The one error type of task-engine: the orchestration seed's envelope, with the HTTP status as
//! `code` and the reason as `msg`, shared with the other service that serves that seed (see
//! `kit::status_error`, where it goes on the wire).

pub use kit::status_error::StatusError as Error;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kit::access::Denied;

/// The failure of a handler that authorizes what it is asked (issue #13): the service's own
/// error, or the caller refused on what it touches — a 403 in the seed's envelope
/// (`{"code": 403, "msg": "<who> may not do this: it needs the role ...", "data": {}}`).
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    Failed(#[from] Error),
    #[error(transparent)]
    Denied(#[from] Denied),
}

impl From<kit::params::ParamsError> for RouteError {
    fn from(e: kit::params::ParamsError) -> Self {
        RouteError::Failed(Error::from(e))
    }
}

impl From<kit::db::DbError> for RouteError {
    fn from(e: kit::db::DbError) -> Self {
        RouteError::Failed(Error::from(e))
    }
}

impl ResponseError for RouteError {
    fn status_code(&self) -> StatusCode {
        match self {
            RouteError::Failed(e) => e.status_code(),
            RouteError::Denied(_) => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            RouteError::Failed(e) => e.error_response(),
            RouteError::Denied(denied) => {
                kit::status_error::envelope(StatusCode::FORBIDDEN, &denied.to_string())
            }
        }
    }
}
