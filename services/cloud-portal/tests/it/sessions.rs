//! Sessions: logout, idle and absolute expiry, keys stored hashed.

use std::time::Duration;

use diesel::prelude::*;
use kit::testing::TestBackend;
use sha2::{Digest, Sha256};

use crate::support::{api_error, session_of, TestApp, ADMIN, ADMIN_PASSWORD};
use kit::on_both_backends;

on_both_backends!(
    logout_ends_the_session_and_only_that_one,
    an_idle_session_expires,
    a_used_session_expires_at_its_absolute_limit,
    session_keys_are_stored_only_as_sha256,
    expired_sessions_are_swept_by_later_logins,
    concurrent_logins_each_get_their_own_session,
);

const REQUIRES_AUTHENTICATION: (i64, &str) = (2, "Requires authentication");

fn is_refused<T: std::fmt::Debug>(result: Result<T, client::ClientError>) -> bool {
    let (code, desc) = api_error(result);
    (code, desc.as_str()) == REQUIRES_AUTHENTICATION
}

async fn logout_ends_the_session_and_only_that_one(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let other_key = app
        .client
        .login(ADMIN, ADMIN_PASSWORD)
        .await
        .expect("login");
    let other = app.client.with_session(&other_key);
    app.admin.logout().await.expect("logout");
    assert!(is_refused(app.admin.my_instances(10, 1).await));
    assert!(is_refused(app.admin.logout().await), "a second logout");
    assert!(
        other.my_instances(10, 1).await.is_ok(),
        "the other session lives"
    );
}

async fn an_idle_session_expires(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.session.idle_timeout_secs = 1;
        c.session.absolute_timeout_secs = 30;
    })
    .await;
    let user = app.user("idle").await;
    // Each use restarts the idle clock: 4 × 600 ms is past 1 s in all, never idle 1 s.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(user.my_instances(10, 1).await.is_ok(), "still fresh");
    }
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(is_refused(user.my_instances(10, 1).await));
    // Once expired, it stays expired (it was removed).
    assert!(is_refused(user.my_instances(10, 1).await));
}

async fn a_used_session_expires_at_its_absolute_limit(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.session.idle_timeout_secs = 2;
        c.session.absolute_timeout_secs = 3;
    })
    .await;
    let user = app.user("busy").await;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(2700) {
        assert!(
            user.my_instances(10, 1).await.is_ok(),
            "used within its life"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(3300).saturating_sub(started.elapsed())).await;
    assert!(is_refused(user.my_instances(10, 1).await));
    // Logging in again gives a fresh session.
    assert!(app
        .client
        .login("busy", "password-of-test-user")
        .await
        .is_ok());
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Text,
    }
}

/// The key column of the sessions table, read straight from the test database.
fn stored_session_hashes(app: &TestApp) -> Vec<String> {
    let url = &app.db.config.url;
    let query = sessions::table.select(sessions::key_hash);
    match app.backend {
        TestBackend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path).expect("open SQLite");
            query.load(&mut conn).expect("read sessions")
        }
        TestBackend::Mysql => {
            let mut conn = diesel::MysqlConnection::establish(url).expect("open MariaDB");
            query.load(&mut conn).expect("read sessions")
        }
    }
}

async fn session_keys_are_stored_only_as_sha256(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let key = session_of(&app.admin);
    let stored = stored_session_hashes(&app);
    assert_eq!(stored, vec![hex::encode(Sha256::digest(key.as_bytes()))]);
    assert!(!stored.iter().any(|s| s.contains(&key)));
}

async fn expired_sessions_are_swept_by_later_logins(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.session.idle_timeout_secs = 1;
        c.session.absolute_timeout_secs = 30;
    })
    .await;
    let old = hex::encode(Sha256::digest(session_of(&app.admin).as_bytes()));
    assert_eq!(stored_session_hashes(&app), vec![old.clone()]);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let fresh = app
        .client
        .login(ADMIN, ADMIN_PASSWORD)
        .await
        .expect("login");
    assert_eq!(
        stored_session_hashes(&app),
        vec![hex::encode(Sha256::digest(fresh.as_bytes()))],
        "the expired session is gone, the new one stays"
    );
}

async fn concurrent_logins_each_get_their_own_session(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let logins = (0..12).map(|_| {
        let client = app.client.clone();
        async move { client.login(ADMIN, ADMIN_PASSWORD).await }
    });
    let mut keys: Vec<String> = futures_util::future::join_all(logins)
        .await
        .into_iter()
        .map(|r| r.expect("every login succeeds"))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 12);
    for key in &keys {
        assert!(app.client.with_session(key).users().await.is_ok());
    }
    assert_eq!(stored_session_hashes(&app).len(), 13);
}
