//! The one error type of task-engine and, in one place, how it goes on the wire: the seed's
//! envelope with the HTTP status as `code` and the reason as `msg`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use kit::db::{classify, DbError, Failure};
use kit::ParamsError;
use serde_json::Value;
use wire::task_engine::Reply;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is missing, malformed, out of range or unknown.
    #[error("{0}")]
    BadArgument(String),
    #[error("{0}")]
    NotFound(String),
    /// A name already taken, or a delete / rename of something still used.
    #[error("{0}")]
    Conflict(String),
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

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(reason) => {
                Error::Unavailable(format!("task database unavailable: {reason}"))
            }
            DbError::Query(q) => Error::from(q),
            DbError::Task(reason) => Error::Internal(reason),
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        match classify(&e) {
            Failure::Duplicate(m) => Error::Conflict(format!("name already taken ({m})")),
            Failure::StillReferenced(m) => Error::Conflict(format!("still referenced ({m})")),
            Failure::ConnectionLost(m) => {
                Error::Unavailable(format!("task database unavailable: {m}"))
            }
            Failure::Busy(m) => Error::Unavailable(format!("database busy, try again: {m}")),
            Failure::NotFound => Error::NotFound("not found".into()),
            Failure::Other(m) => Error::Internal(format!("database error: {m}")),
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::BadArgument(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // The seed's error examples carry `"data": {}`.
        HttpResponse::build(status).json(Reply::<Value> {
            code: i64::from(status.as_u16()),
            msg: self.to_string(),
            data: Some(Value::Object(Default::default())),
        })
    }
}
