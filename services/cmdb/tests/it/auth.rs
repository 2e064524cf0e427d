//! Api-key signing (the seed's scheme, beside bearer tokens): unsigned and mis-signed
//! requests get 401, users without the right 403; a signed key is its cmdb user, an admin
//! user counting as the role admin and any other as operator.

use client::Method;
use kit::auth::Role;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_refused, refused, TestApp, ADMIN_KEY};

kit::on_both_backends!(
    unsigned_and_mis_signed_requests_are_refused,
    users_write_cis_but_only_admins_change_the_model,
    timestamps_outside_the_window_are_refused,
    reads_need_a_token_or_a_signature,
);

async fn unsigned_and_mis_signed_requests_are_refused(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    assert_refused(
        app.anonymous
            .add_ci(json!({"ci_type": "server", "hostname": "x"}))
            .await,
        401,
        &["_key"],
    );
    // Reads are signed too by default.
    assert_eq!(refused(app.anonymous.attributes(None).await).0, 401);

    let wrong_secret = app.anonymous.with_key(ADMIN_KEY, "not-the-secret");
    assert_refused(
        wrong_secret
            .add_ci(json!({"ci_type": "server", "hostname": "x"}))
            .await,
        401,
        &["_secret"],
    );
    let unknown_key = app.anonymous.with_key("who", "what");
    assert_refused(unknown_key.attributes(None).await, 401, &["_key"]);

    // A valid signature over other parameters than those sent fails: tamper after signing.
    let path = "/api/v0.1/ci";
    let mut params = serde_json::Map::new();
    params.insert("ci_type".into(), json!("server"));
    params.insert("hostname".into(), json!("signed-name"));
    params.insert("_key".into(), json!(ADMIN_KEY));
    let signature = client::cmdb::sign(path, crate::support::ADMIN_SECRET, &params);
    params.insert("_secret".into(), json!(signature));
    params.insert("hostname".into(), json!("tampered"));
    let reply = app
        .anonymous
        .call_raw(
            Method::POST,
            "/ci",
            &serde_json::Value::Object(params.clone()),
        )
        .await
        .expect("answers");
    assert_eq!(reply.status.as_u16(), 401);
    assert!(reply.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("_secret"));
    // The untampered request passes.
    params.insert("hostname".into(), json!("signed-name"));
    let reply = app
        .anonymous
        .call_raw(Method::POST, "/ci", &serde_json::Value::Object(params))
        .await
        .expect("answers");
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert!(reply.body["ci_id"].as_i64().is_some());
    // Nothing was written by the refused requests.
    let found = app
        .admin
        .search(json!({"_type": "server"}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 1);
}

async fn users_write_cis_but_only_admins_change_the_model(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let bob = app.admin.create_user("bob", false).await.expect("bob");
    assert!(!bob.is_admin);
    assert_eq!(app.admin.user("bob").await.expect("read back"), bob);
    let as_bob = app.anonymous.with_key(&bob.api_key, &bob.secret);
    let ci = as_bob
        .add_ci(json!({"ci_type": "server", "hostname": "bobs"}))
        .await
        .expect("a user writes CIs");
    assert_refused(
        as_bob.add_attribute(json!({"attr_name": "x"})).await,
        403,
        &["bob"],
    );
    assert_eq!(refused(as_bob.create_user("eve", true).await).0, 403);
    assert_eq!(refused(as_bob.user("admin").await).0, 403);
    assert_refused(
        app.admin.create_user("bob", false).await,
        400,
        &["user `bob` already exists"],
    );
    // History names the user who wrote.
    let history = app
        .admin
        .history(json!({"username": "bob"}))
        .await
        .expect("history");
    assert_eq!(history.numfound, 1);
    let detail = app
        .admin
        .history_record(history.records[0].record_id)
        .await
        .expect("detail");
    assert_eq!(detail.username, "bob");
    assert!(detail.attr_history.contains_key(&ci.ci_id.to_string()));
}

async fn timestamps_outside_the_window_are_refused(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| c.api_keys.require_ts = true).await;
    assert_refused(app.admin.attributes(None).await, 401, &["_ts"]);
    app.admin
        .with_timestamps()
        .attributes(None)
        .await
        .expect("a fresh _ts passes");
    let stale = app
        .admin
        .call_raw(Method::GET, "/attributes", &json!({"_ts": 1_000_000}))
        .await
        .expect("answers");
    assert_eq!(stale.status.as_u16(), 401);
    assert!(stale.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("_ts"));
}

async fn reads_need_a_token_or_a_signature(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    assert_refused(
        app.anonymous.attributes(None).await,
        401,
        &["Bearer", "_key"],
    );
    assert_eq!(
        app.admin.attributes(None).await.expect("signed").numfound,
        8
    );
    assert_eq!(
        app.bearer("vera", &[Role::Viewer])
            .attributes(None)
            .await
            .expect("a viewer's token")
            .numfound,
        8
    );
    // A user's secret is for admins, by token as by signature.
    assert_eq!(refused(app.anonymous.user("admin").await).0, 401);
    assert_eq!(
        refused(app.bearer("otto", &[Role::Operator]).user("admin").await).0,
        403
    );
    let admin = app
        .bearer("ada", &[Role::Admin])
        .user("admin")
        .await
        .expect("an admin's token reads a user");
    assert_eq!(admin.api_key, ADMIN_KEY);
}
