//! The one error type of soa-registry and, in one place, how it goes on the wire: the seed's
//! `{"code": 0, "reason": "..."}`, with an HTTP status that says the same thing. What every
//! service shares (conversions, answering, logging the cause) is `kit::error`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use kit::error::{Fault, Kind, ServiceError};
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
    #[error(transparent)]
    Unavailable(Fault),
    #[error(transparent)]
    Internal(Fault),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(ref reason) => {
                Error::Unavailable(Fault::caused_by(reason.clone(), e))
            }
            // The domain handles the expected cases itself; what reaches here is a surprise.
            other => {
                tracing::error!(error = %other, "store error");
                Error::Internal(Fault::caused_by(format!("store error: {other}"), other))
            }
        }
    }
}

impl ServiceError for Error {
    // The registry has no database: these kinds come from its parameters only.
    fn of_kind(kind: Kind, fault: Fault) -> Self {
        match kind {
            Kind::BadArgument => Error::BadArgument(fault.into_message()),
            Kind::NotFound => Error::NotFound(fault.into_message()),
            Kind::Duplicate | Kind::StillReferenced => Error::Conflict(fault.into_message()),
            Kind::Unavailable => Error::Unavailable(fault),
            Kind::Busy | Kind::Internal => Error::Internal(fault),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::BadArgument(_) => StatusCode::BAD_REQUEST,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn envelope(&self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).json(Failure {
            code: CODE_FAILURE,
            reason: self.to_string(),
        })
    }
}

kit::service_error!(Error);
