//! The one error type of cloud-portal and, in one place, how it goes on the wire. What every
//! service shares (conversions, answering, logging the cause) is `kit::error`.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use kit::error::{Fault, Kind, ServiceError};
use wire::cloud_portal::{Code, Empty, Envelope};

/// The original's answer to a missing or bad session; its users' scripts match on it.
pub const REQUIRES_AUTHENTICATION: &str = "Requires authentication";
/// The same answer for an unknown user and a wrong password (no user enumeration).
pub const LOGIN_FAILED: &str = "Wrong username or password.";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Refused(String),
    #[error("{REQUIRES_AUTHENTICATION}")]
    RequiresAuthentication,
    #[error("{0}")]
    BadArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{LOGIN_FAILED}")]
    LoginFailed,
    #[error("Too many failed logins: try again in {retry_after_secs} s")]
    LoginThrottled { retry_after_secs: u64 },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NoCapacity(String),
    #[error(transparent)]
    Unavailable(Fault),
    /// The database gave up on a transaction because of another one (a MySQL deadlock or lock
    /// wait timeout, a locked SQLite file): the whole transaction may be tried again.
    #[error(transparent)]
    Busy(Fault),
    #[error(transparent)]
    Internal(Fault),
}

impl Error {
    pub fn code(&self) -> Code {
        match self {
            Error::Refused(_) => Code::Refused,
            Error::RequiresAuthentication => Code::RequiresAuthentication,
            Error::BadArgument(_) => Code::BadArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::LoginFailed => Code::LoginFailed,
            Error::LoginThrottled { .. } => Code::LoginThrottled,
            Error::Conflict(_) => Code::Conflict,
            Error::NoCapacity(_) => Code::NoCapacity,
            Error::Unavailable(_) | Error::Busy(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
        }
    }
}

impl ServiceError for Error {
    const DATABASE: &'static str = "portal database";

    fn of_kind(kind: Kind, fault: Fault) -> Self {
        match kind {
            Kind::BadArgument => Error::BadArgument(fault.into_message()),
            Kind::NotFound => Error::NotFound(fault.into_message()),
            Kind::Duplicate | Kind::StillReferenced => Error::Conflict(fault.into_message()),
            Kind::Unavailable => Error::Unavailable(fault),
            Kind::Busy => Error::Busy(fault),
            Kind::Internal => Error::Internal(fault),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Refused(_) => StatusCode::FORBIDDEN,
            Error::RequiresAuthentication | Error::LoginFailed => StatusCode::UNAUTHORIZED,
            Error::BadArgument(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::LoginThrottled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Conflict(_) | Error::NoCapacity(_) => StatusCode::CONFLICT,
            Error::Unavailable(_) | Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn envelope(&self, status: StatusCode) -> HttpResponse {
        let mut response = HttpResponse::build(status);
        if let Error::LoginThrottled { retry_after_secs } = self {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        response.json(Envelope {
            code: self.code() as i32,
            desc: self.to_string(),
            body: Empty {},
        })
    }
}

kit::service_error!(Error);
