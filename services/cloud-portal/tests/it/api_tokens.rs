//! Issue #13: API tokens — created by their owner with no more roles than the owner holds,
//! kept hashed, listed, revoked by the owner or an admin; a revoked token stops working within
//! the poll interval, and the services' verifiers report its last use.

use client::{ClientConfig, CloudPortalClient, Encoding};
use kit::auth::{AuthConfig, AuthError, Verifier};
use kit::testing::TestBackend;
use serde_json::{json, Value};

use crate::support::{TestApp, ADMIN, ADMIN_PASSWORD};

kit::on_both_backends!(
    an_api_token_works_until_revoked,
    a_token_carries_no_more_than_its_owner
);

async fn call(client: &CloudPortalClient, path: &str, params: Value) -> Value {
    client
        .call_raw(path, Encoding::Form, &params)
        .await
        .expect("an answer")
        .body
}

fn with_token(app: &TestApp, token: &str) -> CloudPortalClient {
    CloudPortalClient::new(ClientConfig::new(&app.base_url).with_token(token.to_string()))
        .expect("client")
}

/// Another service's verifier of the portal's tokens, polling its revoked list every second.
fn service_verifier(app: &TestApp) -> Verifier {
    Verifier::new(AuthConfig {
        issuer: app.config.issuer.url.clone(),
        audience: app.config.issuer.audience.clone(),
        jwks_url: format!("{}/oauth/jwks", app.base_url),
        revocation_url: format!("{}/oauth/revoked", app.base_url),
        revocation_poll_secs: 1,
        ..AuthConfig::default()
    })
    .expect("a verifier")
}

async fn an_api_token_works_until_revoked(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| c.auth.revocation_poll_secs = 1).await;
    let admin = with_token(&app, &app.bearer(ADMIN, ADMIN_PASSWORD).await);
    let created = call(
        &admin,
        "/api/token/create",
        json!({"name": "nightly backup", "expires_days": "30"}),
    )
    .await;
    assert_eq!(created["code"], 0, "{created}");
    let token = created["token"].as_str().expect("the token").to_string();
    let id = created["api_token"]["id"].as_i64().expect("an id");
    assert_eq!(created["api_token"]["roles"], json!(["admin"]));
    // The write is in the trail under the verified subject, not what the caller might claim.
    let trail = call(&admin, "/api/admin/audit/list", json!({"actor": ADMIN})).await;
    assert_eq!(trail["code"], 0, "{trail}");
    assert_eq!(
        trail["changes"][0]["action"], "POST /api/token/create",
        "{trail}"
    );
    assert_eq!(trail["changes"][0]["actor"], ADMIN);
    // The token works here and on any service that trusts the portal.
    let script = with_token(&app, &token);
    script
        .users()
        .await
        .expect("an admin's API token lists users");
    let elsewhere = service_verifier(&app);
    let principal = elsewhere.verify(&token).await.expect("valid elsewhere");
    assert_eq!(principal.subject, ADMIN);
    // Listed without the token itself; the last use arrives with the next poll.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    elsewhere.verify(&token).await.expect("still valid");
    let listed = call(&admin, "/api/token/list", json!({})).await;
    assert!(!listed.to_string().contains(&token), "{listed}");
    assert_eq!(listed["api_tokens"][0]["name"], "nightly backup");
    assert!(listed["api_tokens"][0]["last_used_ms"].is_i64(), "{listed}");

    let revoked = call(&admin, "/api/token/revoke", json!({"token_id": id})).await;
    assert_eq!(revoked["code"], 0, "{revoked}");
    assert_eq!(revoked["api_token"]["revoked_by"], ADMIN);
    // Within the poll interval (1 s here, 10 s by default) every verifier refuses it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(elsewhere.verify(&token).await, Err(AuthError::Revoked));
    let refused = script.users().await.expect_err("revoked here too");
    assert_eq!(refused.status(), Some(401), "{refused}");
    assert!(refused.message().contains("revoked"), "{refused}");
}

async fn a_token_carries_no_more_than_its_owner(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.admin
        .add_user("erin", "erins-password", "user")
        .await
        .expect("a user");
    let erin = with_token(&app, &app.bearer("erin", "erins-password").await);
    let refused = call(
        &erin,
        "/api/token/create",
        json!({"name": "sneaky", "roles": "admin"}),
    )
    .await;
    assert_eq!(
        refused["code"],
        wire::cloud_portal::Code::Refused as i64,
        "{refused}"
    );
    let made = call(&erin, "/api/token/create", json!({"name": "mine"})).await;
    assert_eq!(made["api_token"]["roles"], json!(["viewer"]), "{made}");
    let id = made["api_token"]["id"].as_i64().expect("an id");
    // Someone else's token is not hers to list or revoke; an admin's `all` is not hers either.
    let admin = with_token(&app, &app.bearer(ADMIN, ADMIN_PASSWORD).await);
    let admins = call(&admin, "/api/token/create", json!({"name": "admin's"})).await;
    let admins_id = admins["api_token"]["id"].as_i64().expect("an id");
    let theirs = call(&erin, "/api/token/revoke", json!({"token_id": admins_id})).await;
    assert_eq!(
        theirs["code"],
        wire::cloud_portal::Code::Refused as i64,
        "{theirs}"
    );
    let all = call(&erin, "/api/token/list", json!({"all": "1"})).await;
    assert_eq!(
        all["code"],
        wire::cloud_portal::Code::Refused as i64,
        "{all}"
    );
    let mine = call(&erin, "/api/token/list", json!({})).await;
    assert_eq!(
        mine["api_tokens"].as_array().map(Vec::len),
        Some(1),
        "{mine}"
    );
    let everyone = call(&admin, "/api/token/list", json!({"all": "1"})).await;
    assert_eq!(
        everyone["api_tokens"].as_array().map(Vec::len),
        Some(2),
        "{everyone}"
    );
    let own = call(&erin, "/api/token/revoke", json!({"token_id": id})).await;
    assert_eq!(own["code"], 0, "{own}");
}
