//! The domain's errors at the database's edge.

use kit::db::{Db, DbConn};
use kit::testing::{TestBackend, TestDatabase};

use super::now;
use crate::error::Error;
use crate::store;

kit::on_both_backends!(a_unique_key_refusal_is_a_conflict_not_a_server_error);

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
