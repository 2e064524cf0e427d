//! The one error type of cmdb and, in one place, how it goes on the wire: the seed's
//! `{"message": "..."}` with 400 / 401 / 403 / 404 / 500.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kit::db::DbError;
use kit::db::Failure;
use kit::ParamsError;
use wire::cmdb::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadArgument(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The seed answers "already exists" with 500 (e.g. `500 属性已存在`), so we do too.
    #[error("{0}")]
    Duplicate(String),
    /// A change the seed refuses with 500 (e.g. `500 唯一属性不存在`: the unique attribute
    /// does not exist).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Internal(String),
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
                Error::Internal(format!("cmdb database unavailable: {reason}"))
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
            Failure::StillReferenced(m) => Error::BadArgument(format!("still referenced ({m})")),
            Failure::NotFound => Error::NotFound("not found".into()),
            Failure::ConnectionLost(m) | Failure::Busy(m) | Failure::Other(m) => {
                Error::Internal(format!("database error: {m}"))
            }
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::BadArgument(_) => StatusCode::BAD_REQUEST,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Duplicate(_) | Error::Refused(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(ErrorBody {
            message: self.to_string(),
        })
    }
}
