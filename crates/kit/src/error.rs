//! What every service's error type shares: the conversions from the kit's own errors
//! (parameters, database) and the way an error is answered and logged.
//!
//! A service keeps only what is its own: its variants, its table of kinds (which variant each
//! [`Kind`] becomes, and which status and wire code each variant has) and its envelope. It
//! implements [`ServiceError`] and calls [`service_error!`](crate::service_error) once.
//!
//! The 5xx variants hold a [`Fault`]: the message the client sees and, kept for the log only,
//! the error underneath. [`respond`] attaches the fault's source chain to the response, and the
//! request log line (`kit::telemetry::observe`) prints it.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::db::{classify, DbError, Failure};
use crate::params::ParamsError;

/// The error underneath a failure, kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a client is told of a failure and, for the log only, what caused it.
///
/// Its `Display` is the message alone; the cause is its `source()`, so a log that walks the
/// chain shows it and a response body (built from `Display`) does not.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Fault {
    message: String,
    #[source]
    cause: Option<Cause>,
}

impl Fault {
    /// A failure found by the service itself: nothing underneath.
    pub fn new(message: impl Into<String>) -> Fault {
        Fault {
            message: message.into(),
            cause: None,
        }
    }

    /// A failure caused by `cause`: the client is told `message` only.
    pub fn caused_by(message: impl Into<String>, cause: impl Into<Cause>) -> Fault {
        Fault {
            message: message.into(),
            cause: Some(cause.into()),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn into_message(self) -> String {
        self.message
    }
}

impl From<String> for Fault {
    fn from(message: String) -> Fault {
        Fault::new(message)
    }
}

impl From<&str> for Fault {
    fn from(message: &str) -> Fault {
        Fault::new(message)
    }
}

/// What went wrong, in the kit's words; each service maps these to its own variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A parameter is missing, malformed, out of range or unknown.
    BadArgument,
    /// A query for one row found none.
    NotFound,
    /// A unique key refused the row: two writers raced past an existence check.
    Duplicate,
    /// A foreign key refused the change: the row is still referenced.
    StillReferenced,
    /// The database cannot be reached.
    Unavailable,
    /// The database gave the transaction up for another: trying again may succeed.
    Busy,
    /// Anything else: a bug or a broken database.
    Internal,
}

/// A service's error type: its table of kinds, its statuses and its envelope.
pub trait ServiceError: std::error::Error + Sized {
    /// The database as the service's messages name it ("portal database unavailable: ...").
    const DATABASE: &'static str = "database";
    /// What a database that gave the transaction up for another is answered as: `Busy` (with
    /// "busy, try again") or `Internal` (with "database error"), as the service always has.
    const BUSY: Kind = Kind::Busy;
    /// What a connection lost in the middle of a query is answered as: `Unavailable` (with
    /// "unavailable") or `Internal` (with "database error").
    const CONNECTION_LOST: Kind = Kind::Unavailable;

    /// The service's error of `kind`; a variant without a cause keeps `fault`'s message only.
    fn of_kind(kind: Kind, fault: Fault) -> Self;

    /// The HTTP status of this error.
    fn status(&self) -> StatusCode;

    /// The whole answer to this error: the service's envelope (and headers) with `status`.
    fn envelope(&self, status: StatusCode) -> HttpResponse;
}

/// A parameter error is the client's: a bad argument, in the parameter's own words.
pub fn from_params<E: ServiceError>(error: ParamsError) -> E {
    E::of_kind(
        Kind::BadArgument,
        Fault::caused_by(error.to_string(), error),
    )
}

/// A database error, with the pool's and the task's failures worded as the service words them.
pub fn from_db<E: ServiceError>(error: DbError) -> E {
    match error {
        DbError::Unavailable(ref reason) => {
            let message = format!("{} unavailable: {reason}", E::DATABASE);
            E::of_kind(Kind::Unavailable, Fault::caused_by(message, error))
        }
        DbError::Query(query) => from_diesel(query),
        DbError::Task(ref reason) => {
            let message = reason.clone();
            E::of_kind(Kind::Internal, Fault::caused_by(message, error))
        }
    }
}

/// A diesel error by what it means (see `kit::db::classify`); the error itself is the cause.
pub fn from_diesel<E: ServiceError>(error: diesel::result::Error) -> E {
    from_classified(classify(&error), error)
}

/// As [`from_diesel`], for a caller that has classified `error` already (to answer one kind
/// its own way) and passes the rest on: `failure` is `classify(&error)`.
pub fn from_classified<E: ServiceError>(failure: Failure, error: diesel::result::Error) -> E {
    let (kind, message) = match failure {
        Failure::Duplicate(m) => (Kind::Duplicate, format!("already exists ({m})")),
        Failure::StillReferenced(m) => (Kind::StillReferenced, format!("still referenced ({m})")),
        Failure::NotFound => (Kind::NotFound, "not found".to_string()),
        Failure::ConnectionLost(m) => database_trouble::<E>(E::CONNECTION_LOST, m),
        Failure::Busy(m) => database_trouble::<E>(E::BUSY, m),
        Failure::Other(m) => (Kind::Internal, format!("database error: {m}")),
    };
    E::of_kind(kind, Fault::caused_by(message, error))
}

/// The kind and message of a lost connection or a busy database, as the service answers it.
fn database_trouble<E: ServiceError>(kind: Kind, m: String) -> (Kind, String) {
    let message = match kind {
        Kind::Unavailable => format!("{} unavailable: {m}", E::DATABASE),
        Kind::Busy => format!("{} busy, try again: {m}", E::DATABASE),
        _ => format!("database error: {m}"),
    };
    (kind, message)
}

/// What the request log line says of a 5xx answer, attached to the response by [`respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// What the client was told.
    pub error: String,
    /// The causes underneath, outermost first, joined by ": "; empty when there are none.
    pub causes: String,
}

impl Logged {
    pub fn of(error: &dyn std::error::Error) -> Logged {
        let mut causes = Vec::new();
        let mut next = error.source();
        while let Some(cause) = next {
            causes.push(cause.to_string());
            next = cause.source();
        }
        Logged {
            error: error.to_string(),
            causes: causes.join(": "),
        }
    }
}

/// The answer to `error`: the service's envelope; on a 5xx, with what the log should say of it.
pub fn respond<E: ServiceError + 'static>(error: &E) -> HttpResponse {
    let status = error.status();
    let mut response = error.envelope(status);
    if status.is_server_error() {
        response.extensions_mut().insert(Logged::of(error));
    }
    response
}

/// What `service_error!` needs from crates the service may not depend on itself.
#[doc(hidden)]
pub mod reexport {
    pub use actix_web::http::StatusCode;
    pub use actix_web::{HttpResponse, ResponseError};
    pub use diesel::result::Error as DieselError;
}

/// Implements, for a [`ServiceError`], `From<ParamsError>`, `From<DbError>`,
/// `From<diesel::result::Error>` and actix's `ResponseError`.
#[macro_export]
macro_rules! service_error {
    ($error:ty) => {
        impl ::core::convert::From<$crate::params::ParamsError> for $error {
            fn from(e: $crate::params::ParamsError) -> Self {
                $crate::error::from_params(e)
            }
        }

        impl ::core::convert::From<$crate::db::DbError> for $error {
            fn from(e: $crate::db::DbError) -> Self {
                $crate::error::from_db(e)
            }
        }

        impl ::core::convert::From<$crate::error::reexport::DieselError> for $error {
            fn from(e: $crate::error::reexport::DieselError) -> Self {
                $crate::error::from_diesel(e)
            }
        }

        impl $crate::error::reexport::ResponseError for $error {
            fn status_code(&self) -> $crate::error::reexport::StatusCode {
                $crate::error::ServiceError::status(self)
            }

            fn error_response(&self) -> $crate::error::reexport::HttpResponse {
                $crate::error::respond(self)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status_error::StatusError;
    use actix_web::body::MessageBody;
    use actix_web::ResponseError;
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use std::error::Error as _;

    fn body_of(error: &impl ResponseError) -> String {
        let body = error.error_response().into_body().try_into_bytes();
        String::from_utf8(body.expect("a body").to_vec()).expect("UTF-8")
    }

    fn broken_query() -> DieselError {
        DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("Table 'dcp.secret_table' doesn't exist".to_string()),
        )
    }

    #[test]
    fn an_internal_error_from_diesel_keeps_it_as_its_source() {
        let error = StatusError::from(broken_query());
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        // The message is what the service has always answered.
        assert_eq!(
            error.to_string(),
            "database error: Table 'dcp.secret_table' doesn't exist"
        );
        let source = error.source().expect("the diesel error is kept");
        assert!(source.downcast_ref::<DieselError>().is_some());
    }

    #[test]
    fn a_cause_not_meant_for_clients_stays_out_of_the_body() {
        let error = StatusError::InternalBecause(Fault::caused_by(
            "could not read the task",
            broken_query(),
        ));
        let body = body_of(&error);
        assert!(body.contains("could not read the task"), "{body}");
        assert!(!body.contains("secret_table"), "{body}");
        let source = error.source().expect("the diesel error is kept");
        assert!(source.to_string().contains("secret_table"));
    }

    #[test]
    fn a_5xx_answer_carries_its_cause_chain_for_the_log() {
        let error = StatusError::InternalBecause(Fault::caused_by(
            "could not read the task",
            broken_query(),
        ));
        let response = error.error_response();
        let logged = response.extensions().get::<Logged>().cloned();
        assert_eq!(
            logged,
            Some(Logged {
                error: "could not read the task".into(),
                causes: "Table 'dcp.secret_table' doesn't exist".into(),
            })
        );
    }

    #[test]
    fn a_4xx_answer_carries_nothing_for_the_log() {
        let error = StatusError::from(DieselError::NotFound);
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.extensions().get::<Logged>().is_none());
    }

    #[test]
    fn busy_and_lost_connections_are_worded_as_the_service_answers_them() {
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Plain(String, Kind);
        impl ServiceError for Plain {
            const DATABASE: &'static str = "inventory database";
            const BUSY: Kind = Kind::Internal;
            fn of_kind(kind: Kind, fault: Fault) -> Self {
                Plain(fault.into_message(), kind)
            }
            fn status(&self) -> StatusCode {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            fn envelope(&self, status: StatusCode) -> HttpResponse {
                HttpResponse::new(status)
            }
        }
        let db = |message: &str| {
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_string()))
        };
        let busy: Plain = from_diesel(db("database is locked"));
        assert_eq!(
            (busy.0.as_str(), busy.1),
            ("database error: database is locked", Kind::Internal)
        );
        let lost: Plain = from_diesel(DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("gone".to_string()),
        ));
        assert_eq!(
            (lost.0.as_str(), lost.1),
            ("inventory database unavailable: gone", Kind::Unavailable)
        );
        let pool: Plain = from_db(DbError::Unavailable("timed out".into()));
        assert_eq!(
            (pool.0.as_str(), pool.1),
            (
                "inventory database unavailable: timed out",
                Kind::Unavailable
            )
        );
    }
}
