//! Fault drills of [`crate::db::Db`] against a private MariaDB: killed and restarted, frozen
//! and thawed. What a client of any service sees is decided here: the first request after the
//! database answers again succeeds, refusals while it is down are fast 503s, nothing waits
//! past the deadline while it is frozen, and no acknowledged write is lost.

// Test code: a panic is how a drill fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use diesel_migrations::EmbeddedMigrations;

use crate::db::{Db, DbError, Migrations};
use crate::testing::mariadb::PrivateMariaDb;

/// While the database is known down, a refusal takes no longer than this (the bound;
/// the circuit answers in well under it, a pool timeout would take seconds).
const FAST_REFUSAL: Duration = Duration::from_millis(100);

fn no_migrations() -> Migrations {
    Migrations {
        sqlite: EmbeddedMigrations::new(&[]),
        mysql: EmbeddedMigrations::new(&[]),
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn open(server: &PrivateMariaDb, deadline_ms: u64) -> Db {
    let mut config = server.config("drill");
    config.request_deadline_ms = deadline_ms;
    let db = Db::open_async(&config, no_migrations())
        .await
        .expect("the drill database opens");
    db.write(|c| {
        c.batch_execute("CREATE TABLE IF NOT EXISTS drill (id BIGINT PRIMARY KEY)")
            .map_err(DbError::from)
    })
    .await
    .expect("the drill table");
    db
}

async fn insert(db: &Db, id: i64) -> Result<(), DbError> {
    db.write(move |c| {
        c.batch_execute(&format!("INSERT INTO drill (id) VALUES ({id})"))
            .map_err(DbError::from)
    })
    .await
}

async fn count(db: &Db) -> Result<i64, DbError> {
    db.read(|c| {
        diesel::sql_query("SELECT COUNT(*) AS n FROM drill")
            .get_result::<Count>(c)
            .map(|row| row.n)
            .map_err(DbError::from)
    })
    .await
}

/// Fills the pool: `n` reads at once each hold a connection.
async fn use_connections(db: &Db, n: usize) {
    let reads =
        (0..n).map(|_| db.read(|c| c.batch_execute("DO SLEEP(0.05)").map_err(DbError::from)));
    for answer in futures_util::future::join_all(reads).await {
        answer.expect("a read on a healthy database");
    }
}

fn assert_unavailable<T: std::fmt::Debug>(answer: &Result<T, DbError>, what: &str) {
    assert!(
        matches!(answer, Err(DbError::Unavailable(_))),
        "{what}: expected `database unavailable`, got {answer:?}"
    );
}

/// The ids acknowledged as written are all stored.
fn assert_all_present(server: &PrivateMariaDb, acknowledged: &[i64]) {
    let mut conn = server.connect("drill");
    for id in acknowledged {
        let found: Count =
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM drill WHERE id = {id}"))
                .get_result(&mut conn)
                .expect("reading the drill table");
        assert_eq!(found.n, 1, "acknowledged write {id} is missing");
    }
}

#[actix_web::test]
async fn a_killed_database_is_refused_fast_and_the_first_request_after_its_restart_succeeds() {
    let mut server = PrivateMariaDb::start();
    let db = open(&server, 10_000).await;
    let mut acknowledged = Vec::new();
    for id in 0..4 {
        insert(&db, id).await.expect("written while healthy");
        acknowledged.push(id);
    }
    // Every pooled connection exists, and all will be stale after the restart.
    use_connections(&db, 4).await;

    server.kill();
    let mut took = Vec::new();
    for attempt in 0..20 {
        let started = Instant::now();
        let answer = if attempt % 2 == 0 {
            insert(&db, 1000 + attempt).await.map(|_| 0)
        } else {
            count(&db).await
        };
        took.push(started.elapsed());
        assert_unavailable(&answer, "a request while the database is down");
    }
    // Nine in ten within the bound, and none anywhere near a pool timeout (seconds): a loaded
    // two-core machine may stall any single call.
    took.sort();
    assert!(
        took[17] < FAST_REFUSAL && took[19] < Duration::from_secs(1),
        "refusals while the database was down took {took:?}"
    );
    let started = Instant::now();
    let ready = db.ping().await;
    assert!(ready.is_err(), "/readyz says not ready while down");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "and says so fast"
    );

    server.launch();
    // The first requests after the database answers: a write (BEGIN on a stale connection)
    // and reads, each served, on every pooled connection in turn.
    insert(&db, 100)
        .await
        .expect("the first write after the restart succeeds");
    acknowledged.push(100);
    for round in 0..8 {
        count(&db)
            .await
            .unwrap_or_else(|e| panic!("read {round} after the restart: {e}"));
        insert(&db, 101 + round)
            .await
            .unwrap_or_else(|e| panic!("write {round} after the restart: {e}"));
        acknowledged.push(101 + round);
    }
    db.ping().await.expect("/readyz is ready at once");
    assert_all_present(&server, &acknowledged);
}

#[actix_web::test]
async fn a_restart_nobody_saw_costs_no_request() {
    // The database restarts while the service is idle: no request saw it down, so only the
    // requests after it find the pooled connections stale.
    let mut server = PrivateMariaDb::start();
    let db = open(&server, 10_000).await;
    use_connections(&db, 4).await;
    server.kill();
    server.launch();
    db.ping().await.expect("/readyz after an unseen restart");
    count(&db).await.expect("a read after an unseen restart");
    use_connections(&db, 4).await;
    insert(&db, 1)
        .await
        .expect("a write after an unseen restart");
    assert_all_present(&server, &[1]);
}

#[actix_web::test]
async fn a_frozen_database_answers_503_within_the_deadline_and_recovers() {
    let mut server = PrivateMariaDb::start();
    let deadline = Duration::from_millis(1_000);
    let db = open(&server, deadline.as_millis() as u64).await;
    insert(&db, 0).await.expect("written while healthy");
    let mut acknowledged = vec![0];
    use_connections(&db, 4).await;

    server.freeze();
    // Requests in flight when it froze: each answered 503 within the deadline (and a margin
    // for a loaded machine), whatever the database does.
    let in_flight = (0..6).map(|i| {
        let db = db.clone();
        async move {
            let started = Instant::now();
            let answer = if i % 2 == 0 {
                insert(&db, 1000 + i).await.map(|_| 0)
            } else {
                count(&db).await
            };
            (answer, started.elapsed())
        }
    });
    for (answer, took) in futures_util::future::join_all(in_flight).await {
        assert_unavailable(&answer, "a request while the database is frozen");
        assert!(
            took < deadline + Duration::from_millis(500),
            "a request waited {took:?} on a frozen database (deadline {deadline:?})"
        );
    }
    // Now the service knows: a request waits only for the probe under way (hanging with the
    // database) a moment, far less than the deadline; /readyz answers within its own limit.
    for _ in 0..10 {
        let started = Instant::now();
        assert_unavailable(&count(&db).await, "a read once the freeze is known");
        assert!(
            started.elapsed() < deadline / 2,
            "a known freeze is refused without waiting for the database"
        );
    }
    let started = Instant::now();
    assert!(
        db.ping().await.is_err(),
        "/readyz says not ready while frozen"
    );
    assert!(started.elapsed() < Duration::from_secs(2) + Duration::from_millis(500));

    server.thaw();
    server.wait_until_answers(Duration::from_secs(10));
    // The probe under way sees the database answer: the first request after it is served.
    insert(&db, 1)
        .await
        .expect("the first write after the database answers again succeeds");
    acknowledged.push(1);
    count(&db).await.expect("a read after the thaw");
    db.ping().await.expect("/readyz after the thaw");
    assert_all_present(&server, &acknowledged);
}
