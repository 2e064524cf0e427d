//! The one error type of resource-pool and, in one place, how it goes on the wire. What every
//! service shares (conversions, answering, logging the cause) is `kit::error`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use kit::error::{Fault, Kind, ServiceError};
use wire::resource_pool::{ErrorCode, Reply};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Duplicate(String),
    #[error("{0}")]
    InUse(String),
    #[error(transparent)]
    Unavailable(Fault),
    #[error(transparent)]
    Internal(Fault),
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::BadArgument(_) => ErrorCode::BadArgument,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Duplicate(_) => ErrorCode::Duplicate,
            Error::InUse(_) => ErrorCode::InUse,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl ServiceError for Error {
    const DATABASE: &'static str = "inventory database";
    // A deadlock or lock wait has always been an internal error here (no "try again" code).
    const BUSY: Kind = Kind::Internal;

    fn of_kind(kind: Kind, fault: Fault) -> Self {
        match kind {
            Kind::BadArgument => Error::BadArgument(fault.into_message()),
            Kind::NotFound => Error::NotFound(fault.into_message()),
            Kind::Duplicate => Error::Duplicate(fault.into_message()),
            Kind::StillReferenced => Error::InUse(fault.into_message()),
            Kind::Unavailable => Error::Unavailable(fault),
            Kind::Busy | Kind::Internal => Error::Internal(fault),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::BadArgument(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Duplicate(_) | Error::InUse(_) => StatusCode::CONFLICT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn envelope(&self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).json(Reply::<()> {
            code: self.code() as i32,
            msg: self.to_string(),
            result: None,
        })
    }
}

kit::service_error!(Error);
