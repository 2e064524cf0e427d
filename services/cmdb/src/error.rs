//! The one error type of cmdb and, in one place, how it goes on the wire: the seed's
//! `{"message": "..."}` with 400 / 401 / 403 / 404 / 500 / 503. A 503 means the database
//! cannot be reached now (try again later); a 500 that the service failed otherwise (a
//! broken invariant, a database that gave up); whatever the caller can fix is a 4xx.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use kit::db::Failure;
use kit::error::{Fault, Kind, ServiceError};
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
    /// What the caller wants to create (or rename to) already exists: an attribute, a CI
    /// type, a relation, a user, a unique value held by another CI. A 400, as veops CMDB
    /// (the seed's living successor) answers it; the seed's own 500 would trip every alert
    /// an operator keeps on server errors for what is the caller's conflict.
    #[error("{0}")]
    Duplicate(String),
    /// The database cannot be reached (the pool timed out, the connection was lost): a 503,
    /// which clients and load balancers retry, not a 500 that says the service is broken.
    #[error(transparent)]
    Unavailable(Fault),
    /// The service failed; the cause is kept for the log, the client sees the message.
    #[error(transparent)]
    Internal(Fault),
}

impl ServiceError for Error {
    const DATABASE: &'static str = "cmdb database";
    // A database that gave a transaction up stays a 500, as the seed answers failures; one
    // that cannot be reached is a 503 (issue #14).
    const BUSY: Kind = Kind::Internal;
    const CONNECTION_LOST: Kind = Kind::Unavailable;

    fn of_kind(kind: Kind, fault: Fault) -> Self {
        match kind {
            // Operations that insert under a unique key name what already exists themselves
            // (`Error::already_exists`); this is the fallback for a key they did not expect.
            Kind::Duplicate => Error::Duplicate(fault.into_message()),
            Kind::BadArgument | Kind::StillReferenced => Error::BadArgument(fault.into_message()),
            Kind::NotFound => Error::NotFound(fault.into_message()),
            Kind::Unavailable => Error::Unavailable(fault),
            Kind::Busy | Kind::Internal => Error::Internal(fault),
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn envelope(&self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).json(ErrorBody {
            message: self.to_string(),
        })
    }
}

kit::service_error!(Error);

impl Error {
    /// `error`, or the conflict `what` when `error` is the database's unique key refusing
    /// the row: the race that an existence check inside the transaction cannot see (two
    /// writers both found nothing, the second one's insert is refused at commit order).
    pub fn already_exists(error: diesel::result::Error, what: impl FnOnce() -> String) -> Error {
        match kit::db::classify(&error) {
            Failure::Duplicate(_) => Error::Duplicate(what()),
            other => kit::error::from_classified(other, error),
        }
    }

    /// The status this error answers with: the response's, and the `status` of a refused
    /// row of `POST /ci/batch` (which the domain reports without knowing of HTTP).
    pub fn http_status(&self) -> u16 {
        match self {
            Error::BadArgument(_) | Error::Duplicate(_) => 400,
            Error::Unauthenticated(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::Internal(_) => 500,
            Error::Unavailable(_) => 503,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Errors at the database's edge, on both backends.

    use kit::db::{Db, DbConn};
    use kit::testing::{TestBackend, TestDatabase};

    use super::*;
    use crate::service::now;
    use crate::store;

    kit::on_both_backends!(a_unique_key_refusal_is_a_conflict_not_a_server_error);

    /// A database that cannot be reached (the pool gave up waiting for a connection, or the
    /// connection was lost) is a 503 in cmdb's envelope, not a 500.
    #[test]
    fn an_unreachable_database_is_a_503_in_the_envelope() {
        use actix_web::body::MessageBody;
        use actix_web::ResponseError;
        let timed_out: Error = kit::error::from_db(kit::db::DbError::Unavailable(
            "timed out waiting for connection".into(),
        ));
        assert!(matches!(timed_out, Error::Unavailable(_)), "{timed_out:?}");
        assert_eq!(timed_out.status_code().as_u16(), 503);
        assert_eq!(timed_out.http_status(), 503);
        let body = timed_out.error_response().into_body().try_into_bytes().ok();
        let body: serde_json::Value =
            serde_json::from_slice(&body.unwrap_or_default()).unwrap_or_default();
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("cmdb database unavailable")),
            "{body}"
        );
        let lost = kit::error::from_classified::<Error>(
            kit::db::Failure::ConnectionLost("server has gone away".into()),
            diesel::result::Error::BrokenTransactionManager,
        );
        assert_eq!(lost.status_code().as_u16(), 503, "{lost:?}");
    }

    /// The race the service's own existence check cannot see ends at the database's unique
    /// key: the backend's real refusal (SQLite's and MariaDB's own errors) is a 400 naming
    /// what exists, through `Error::already_exists` and through the fallback alike.
    async fn a_unique_key_refusal_is_a_conflict_not_a_server_error(backend: TestBackend) {
        use actix_web::ResponseError;
        let test_db = TestDatabase::create(backend, "cmdb_unit");
        let db = Db::open_async(&test_db.config, crate::migrations())
            .await
            .expect("database opens");
        fn insert(conn: &mut DbConn, key: &str) -> diesel::QueryResult<i64> {
            store::insert_user(conn, "carol", key, "s", false, now())
        }
        db.write(|conn| insert(conn, "k1").map_err(Error::from))
            .await
            .expect("the first carol");
        let named = db
            .write(|conn| {
                insert(conn, "k2")
                    .map_err(|e| Error::already_exists(e, || "user `carol` already exists".into()))
            })
            .await
            .expect_err("the unique key refuses a second carol");
        assert!(
            matches!(&named, Error::Duplicate(m) if m == "user `carol` already exists"),
            "{named:?}"
        );
        assert_eq!(named.status_code().as_u16(), 400);
        let fallback = db
            .write(|conn| insert(conn, "k3").map_err(Error::from))
            .await
            .expect_err("refused again");
        assert!(matches!(fallback, Error::Duplicate(_)), "{fallback:?}");
        assert_eq!(fallback.status_code().as_u16(), 400);
        // Any other database failure stays a server error.
        let broken = db
            .write(|conn| {
                diesel::RunQueryDsl::execute(diesel::sql_query("SELECT * FROM no_such_table"), conn)
                    .map_err(|e| Error::already_exists(e, || "never".into()))
            })
            .await
            .expect_err("no such table");
        assert_eq!(broken.status_code().as_u16(), 500, "{broken:?}");
    }
}
