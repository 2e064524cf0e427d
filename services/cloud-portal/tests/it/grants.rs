//! Issue #13: roles on single clusters, granted over the admin API, carried in the `grants`
//! claim of the embedded issuer's tokens, and shown to their holder by `/api/whoami`.

use client::{ClientConfig, CloudPortalClient, Encoding, RawReply};
use kit::auth::{AuthConfig, Grant, Principal, Role, Verifier};
use kit::testing::TestBackend;
use serde_json::{json, Value};
use wire::cloud_portal::Code;

use crate::support::{code_and_desc, session_of, TestApp, ADMIN, ADMIN_PASSWORD, BOB_PASSWORD};

kit::on_both_backends!(
    an_admins_grant_reaches_the_next_token_and_whoami_until_revoked,
    grants_are_refused_to_non_admins_and_on_bad_input,
    whoami_answers_for_the_caller_and_a_relayed_person,
    a_removed_users_grants_go_with_them,
);

fn with_token(app: &TestApp, token: String) -> CloudPortalClient {
    CloudPortalClient::new(ClientConfig::new(&app.base_url).with_token(token)).expect("client")
}

/// The portal's tokens as another service verifies them: keys fetched from its JWKS.
async fn verified(app: &TestApp, token: &str) -> Principal {
    let verifier = Verifier::new(AuthConfig {
        issuer: app.config.issuer.url.clone(),
        audience: app.config.issuer.audience.clone(),
        jwks_url: format!("{}/oauth/jwks", app.base_url),
        roles_claim: "roles".into(),
        keys_ttl_secs: 300,
        keys_refetch_secs: 10,
        leeway_secs: 0,
        ..AuthConfig::default()
    })
    .expect("a verifier");
    verifier.verify(token).await.expect("the token verifies")
}

async fn call(client: &CloudPortalClient, path: &str, params: Value) -> RawReply {
    client
        .call_raw(path, Encoding::Form, &params)
        .await
        .expect("the service answers")
}

fn assert_ok(reply: &RawReply) {
    assert_eq!(
        (reply.status.as_u16(), reply.body["code"].as_i64()),
        (200, Some(0)),
        "{}",
        reply.body
    );
}

fn assert_refused(reply: &RawReply, status: u16, code: Code) {
    assert_eq!(
        (reply.status.as_u16(), reply.body["code"].as_i64()),
        (status, Some(code as i64)),
        "{}",
        reply.body
    );
}

async fn an_admins_grant_reaches_the_next_token_and_whoami_until_revoked(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.add_bob().await;
    app.admin
        .add_user("carol", "carols-password", "user")
        .await
        .expect("carol");
    // The admin grants with a bearer token: their verified subject is recorded.
    let admin = with_token(&app, app.bearer(ADMIN, ADMIN_PASSWORD).await);
    let added = call(
        &admin,
        "/api/admin/grant/add",
        json!({"username": "bob", "role": "operator", "cluster_id": "3"}),
    )
    .await;
    assert_ok(&added);
    let grant = &added.body["grant"];
    assert_eq!(
        (
            grant["username"].as_str(),
            grant["role"].as_str(),
            grant["cluster_id"].as_i64(),
            grant["granted_by"].as_str(),
        ),
        (Some("bob"), Some("operator"), Some(3), Some(ADMIN)),
        "{grant}"
    );
    let grant_id = grant["id"].as_i64().expect("an id");
    // The same grant again is a conflict; another user's grant is theirs alone.
    let again = call(
        &admin,
        "/api/admin/grant/add",
        json!({"username": "bob", "role": "operator", "cluster_id": 3}),
    )
    .await;
    assert_refused(&again, 409, Code::Conflict);
    let session = session_of(&app.admin);
    let carols = call(
        &app.client,
        "/api/admin/grant/add",
        json!({"session_key": session, "username": "carol", "role": "viewer", "cluster_id": 5}),
    )
    .await;
    assert_ok(&carols);
    assert_eq!(carols.body["grant"]["granted_by"], ADMIN);

    // Bob's next token: a viewer platform-wide, an operator on cluster 3.
    let token = app.bearer("bob", BOB_PASSWORD).await;
    let principal = verified(&app, &token).await;
    assert_eq!(principal.subject, "bob");
    assert_eq!(principal.roles, vec![Role::Viewer]);
    let operator_on_3 = Grant {
        role: Role::Operator,
        cluster: 3,
    };
    assert_eq!(principal.grants, vec![operator_on_3]);
    assert!(principal.may(Role::Operator, 3) && !principal.may(Role::Operator, 5));

    // whoami, with that token (GET) and with a session (the seed's POST): bob's own only.
    let bob = with_token(&app, token);
    let me = bob
        .call_raw("/api/whoami", Encoding::Query, &json!({}))
        .await
        .expect("an answer");
    assert_ok(&me);
    let expected_grants = json!([{"role": "operator", "cluster": 3}]);
    assert_eq!(me.body["subject"], "bob");
    assert_eq!(me.body["roles"], json!(["viewer"]));
    assert_eq!(me.body["grants"], expected_grants);
    assert_eq!(me.body["via"], Value::Null);
    assert_eq!(me.body["credential"], "token");
    let key = app.client.login("bob", BOB_PASSWORD).await.expect("login");
    let me = call(&app.client, "/api/whoami", json!({"session_key": key})).await;
    assert_ok(&me);
    assert_eq!(me.body["subject"], "bob");
    assert_eq!(me.body["roles"], json!(["viewer"]));
    assert_eq!(me.body["grants"], expected_grants);
    assert_eq!(me.body["credential"], "session_key");

    // The list, filtered to bob.
    let listed = call(&admin, "/api/admin/grant/list", json!({"username": "bob"})).await;
    assert_ok(&listed);
    let ids: Vec<i64> = listed.body["grants"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|g| g["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![grant_id]);
    let everyone = call(&admin, "/api/admin/grant/list", json!({})).await;
    assert_eq!(everyone.body["grants"].as_array().map(Vec::len), Some(2));

    // Revoked: the next token and whoami no longer carry it.
    let revoked = call(
        &admin,
        "/api/admin/grant/delete",
        json!({"grant_id": grant_id}),
    )
    .await;
    assert_ok(&revoked);
    assert_eq!(revoked.body["grant"]["id"].as_i64(), Some(grant_id));
    let principal = verified(&app, &app.bearer("bob", BOB_PASSWORD).await).await;
    assert_eq!(principal.roles, vec![Role::Viewer]);
    assert!(principal.grants.is_empty(), "{:?}", principal.grants);
    let me = call(&app.client, "/api/whoami", json!({"session_key": key})).await;
    assert_eq!(me.body["grants"], json!([]));
    let gone = call(
        &admin,
        "/api/admin/grant/delete",
        json!({"grant_id": grant_id}),
    )
    .await;
    assert_refused(&gone, 404, Code::NotFound);
}

async fn grants_are_refused_to_non_admins_and_on_bad_input(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.add_bob().await;
    let grant = json!({"username": "bob", "role": "operator", "cluster_id": 3});
    // A plain user, by session and by token, may not grant (not even to themself).
    let key = app.client.login("bob", BOB_PASSWORD).await.expect("login");
    let mut by_session = grant.clone();
    by_session["session_key"] = json!(key);
    let refused = call(&app.client, "/api/admin/grant/add", by_session).await;
    assert_refused(&refused, 403, Code::Refused);
    let bob = with_token(&app, app.bearer("bob", BOB_PASSWORD).await);
    for path in [
        "/api/admin/grant/add",
        "/api/admin/grant/list",
        "/api/admin/grant/delete",
    ] {
        let refused = call(&bob, path, grant.clone()).await;
        assert_refused(&refused, 403, Code::Refused);
    }
    // Nothing was granted.
    let admin = with_token(&app, app.bearer(ADMIN, ADMIN_PASSWORD).await);
    let listed = call(&admin, "/api/admin/grant/list", json!({})).await;
    assert_eq!(listed.body["grants"], json!([]), "{}", listed.body);

    let bad = [
        (
            json!({"username": "nobody", "role": "operator", "cluster_id": 3}),
            404,
            Code::NotFound,
        ),
        (
            json!({"username": "bob", "role": "admin", "cluster_id": 3}),
            400,
            Code::BadArgument,
        ),
        (
            json!({"username": "bob", "role": "Operator", "cluster_id": 3}),
            400,
            Code::BadArgument,
        ),
        (
            json!({"username": "bob", "role": "operator", "cluster_id": 0}),
            400,
            Code::BadArgument,
        ),
        (
            json!({"username": "bob", "role": "operator", "cluster_id": -2}),
            400,
            Code::BadArgument,
        ),
        (
            json!({"username": "bob", "role": "operator", "cluster_id": "three"}),
            400,
            Code::BadArgument,
        ),
        (
            json!({"username": "bob", "role": "operator"}),
            400,
            Code::BadArgument,
        ),
        (
            json!({"username": "bob", "role": "operator", "cluster_id": 3, "scope": "x"}),
            400,
            Code::BadArgument,
        ),
    ];
    for (params, status, code) in bad {
        let reply = call(&admin, "/api/admin/grant/add", params.clone()).await;
        let (got, desc) = code_and_desc(&reply);
        assert_eq!(
            (reply.status.as_u16(), got),
            (status, code as i64),
            "{params}: {desc}"
        );
        assert!(!desc.is_empty());
    }
    let unknown = call(
        &admin,
        "/api/admin/grant/list",
        json!({"username": "nobody"}),
    )
    .await;
    assert_refused(&unknown, 404, Code::NotFound);
    let no_id = call(&admin, "/api/admin/grant/delete", json!({"grant_id": 0})).await;
    assert_refused(&no_id, 400, Code::BadArgument);
}

async fn whoami_answers_for_the_caller_and_a_relayed_person(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.add_bob().await;
    // Without any credential: the seed's answer.
    let anonymous = call(&app.client, "/api/whoami", json!({})).await;
    assert_refused(&anonymous, 401, Code::RequiresAuthentication);
    // The admin's own identity.
    let admin = with_token(&app, app.bearer(ADMIN, ADMIN_PASSWORD).await);
    let me = call(&admin, "/api/whoami", json!({})).await;
    assert_ok(&me);
    assert_eq!(
        (&me.body["subject"], &me.body["roles"], &me.body["grants"]),
        (&json!(ADMIN), &json!(["admin"]), &json!([]))
    );
    // A service relaying bob: bob's identity, the service as `via`.
    app.admin
        .add_user("orchestrator", "orchestrator-secret", "service")
        .await
        .expect("a service account");
    let service_token = client::credentials::password_grant(
        &format!("{}/oauth/token", app.base_url),
        "orchestrator",
        "orchestrator-secret",
    )
    .await
    .expect("a service token")
    .access_token;
    let bob_token = app.bearer("bob", BOB_PASSWORD).await;
    let relayed = reqwest::Client::new()
        .get(format!("{}/api/whoami", app.base_url))
        .bearer_auth(service_token)
        .header(kit::access::ON_BEHALF_OF, bob_token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(relayed.status().as_u16(), 200);
    let body: Value = relayed.json().await.expect("JSON");
    assert_eq!(body["subject"], "bob", "{body}");
    assert_eq!(body["roles"], json!(["viewer"]));
    assert_eq!(body["via"], "orchestrator");
    assert_eq!(body["credential"], "token");
}

async fn a_removed_users_grants_go_with_them(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let dave = app
        .admin
        .add_user("dave", "daves-password", "user")
        .await
        .expect("dave");
    let session = session_of(&app.admin);
    let granted = call(
        &app.client,
        "/api/admin/grant/add",
        json!({"session_key": session, "username": "dave", "role": "viewer", "cluster_id": 7}),
    )
    .await;
    assert_ok(&granted);
    let removed = call(
        &app.client,
        "/api/admin/user/delete",
        json!({"session_key": session, "user_id": dave.id}),
    )
    .await;
    assert_ok(&removed);
    // A new dave does not inherit the old one's grants.
    app.admin
        .add_user("dave", "new-daves-password", "user")
        .await
        .expect("a new dave");
    let listed = call(
        &app.client,
        "/api/admin/grant/list",
        json!({"session_key": session}),
    )
    .await;
    assert_eq!(listed.body["grants"], json!([]), "{}", listed.body);
    let principal = verified(&app, &app.bearer("dave", "new-daves-password").await).await;
    assert!(principal.grants.is_empty());
}
