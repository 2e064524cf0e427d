//! The one error type of soa-registry and, in one place, how it goes on the wire: the seed's
//! `{"code": 0, "reason": "..."}`, with an HTTP status that says the same thing.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kit::ParamsError;
use wire::soa_registry::{Failure, CODE_FAILURE};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Missing, malformed or unknown parameter; unknown zkidc; invalid name, host or port.
    #[error("{0}")]
    BadArgument(String),
    /// No key, or a key that is not valid (for this zkidc).
    #[error("{0}")]
    Forbidden(String),
    /// No such service, server or route.
    #[error("{0}")]
    NotFound(String),
    /// The service still has servers (delservice without force=1).
    #[error("{0}")]
    Conflict(String),
    /// ZooKeeper cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl From<ParamsError> for Error {
    fn from(e: ParamsError) -> Self {
        Error::BadArgument(e.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(reason) => Error::Unavailable(reason),
            // The domain handles the expected cases itself; what reaches here is a surprise.
            other => {
                tracing::error!(error = %other, "store error");
                Error::Internal(format!("store error: {other}"))
            }
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::BadArgument(_) => StatusCode::BAD_REQUEST,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(Failure {
            code: CODE_FAILURE,
            reason: self.to_string(),
        })
    }
}
