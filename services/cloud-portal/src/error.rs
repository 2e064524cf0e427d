//! The one error type of cloud-portal and, in one place, how it goes on the wire.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kit::db::DbError;
use kit::db::Failure;
use kit::ParamsError;
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
    #[error("{0}")]
    Unavailable(String),
    /// The database gave up on a transaction because of another one (a MySQL deadlock or lock
    /// wait timeout, a locked SQLite file): the whole transaction may be tried again.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Internal(String),
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

impl From<ParamsError> for Error {
    fn from(e: ParamsError) -> Self {
        Error::BadArgument(e.to_string())
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(reason) => {
                Error::Unavailable(format!("portal database unavailable: {reason}"))
            }
            DbError::Query(q) => Error::from(q),
            DbError::Task(reason) => Error::Internal(reason),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        match kit::db::classify(&e) {
            Failure::Duplicate(m) => Error::Conflict(format!("already exists ({m})")),
            Failure::StillReferenced(m) => Error::Conflict(format!("still referenced ({m})")),
            Failure::ConnectionLost(m) => {
                Error::Unavailable(format!("portal database unavailable: {m}"))
            }
            Failure::Busy(m) => Error::Busy(format!("portal database busy, try again: {m}")),
            Failure::NotFound => Error::NotFound("not found".into()),
            Failure::Other(m) => Error::Internal(format!("database error: {m}")),
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
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

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
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
