//! The one error type of resource-pool and, in one place, how it goes on the wire.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kit::db::DbError;
use kit::db::Failure;
use kit::ParamsError;
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
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
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

impl From<ParamsError> for Error {
    fn from(e: ParamsError) -> Self {
        Error::BadArgument(e.to_string())
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(reason) => {
                Error::Unavailable(format!("inventory database unavailable: {reason}"))
            }
            DbError::Query(q) => Error::from(q),
            DbError::Task(reason) => Error::Internal(reason),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        match kit::db::classify(&e) {
            Failure::Duplicate(m) => Error::Duplicate(format!("already exists ({m})")),
            Failure::StillReferenced(m) => Error::InUse(format!("still referenced ({m})")),
            Failure::ConnectionLost(m) => {
                Error::Unavailable(format!("inventory database unavailable: {m}"))
            }
            Failure::NotFound => Error::NotFound("not found".into()),
            Failure::Busy(m) | Failure::Other(m) => Error::Internal(format!("database error: {m}")),
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::BadArgument(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Duplicate(_) | Error::InUse(_) => StatusCode::CONFLICT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(Reply::<()> {
            code: self.code() as i32,
            msg: self.to_string(),
            result: None,
        })
    }
}
