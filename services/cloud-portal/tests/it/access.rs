//! Issue #13 in cloud-portal: every route enforces its decision; the embedded issuer's tokens
//! (password and client-credentials grants) work on the seed's routes beside `session_key`;
//! tokens of an external issuer do too when `[auth]` names one.

use client::{ClientConfig, CloudPortalClient};
use kit::testing::issuer::issuer;
use kit::testing::TestBackend;
use serde_json::Value;

use crate::support::{api_error, TestApp, ADMIN, ADMIN_PASSWORD};

kit::on_both_backends!(
    every_route_enforces_its_decision,
    the_first_requests_of_a_new_subject_race_without_failing,
    the_embedded_issuers_tokens_open_the_seeds_routes,
    a_service_account_gets_a_token_by_client_credentials,
);

async fn every_route_enforces_its_decision(backend: TestBackend) {
    // Trusting the test issuer, as a site with its own OIDC provider would.
    let app = TestApp::spawn_with(backend, |c| c.auth = issuer().auth_config()).await;
    let problems =
        kit::testing::access::route_access_problems(&app.base_url, &cloud_portal::table()).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

fn with_token(app: &TestApp, token: String) -> CloudPortalClient {
    CloudPortalClient::new(ClientConfig::new(&app.base_url).with_token(token)).expect("client")
}

async fn the_embedded_issuers_tokens_open_the_seeds_routes(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let admin = with_token(&app, app.bearer(ADMIN, ADMIN_PASSWORD).await);
    // An admin route, with no session key at all.
    let users = admin.users().await.expect("an admin's token lists users");
    assert!(users.iter().any(|u| u.username == ADMIN));
    // An ordinary user's token manages their own instances but is no admin.
    app.admin
        .add_user("carol", "carols-password", "user")
        .await
        .expect("a user");
    let carol = with_token(&app, app.bearer("carol", "carols-password").await);
    carol.my_instances(1, 10).await.expect("carol's instances");
    let (code, desc) = api_error(carol.users().await);
    assert_eq!(code, wire::cloud_portal::Code::Refused as i64, "{desc}");
    // A forged token is refused before any handler, even with a valid session key beside it.
    let forged = with_token(&app, issuer().token(ADMIN, &[kit::auth::Role::Admin]));
    let refused = forged.users().await.expect_err("another issuer's token");
    assert_eq!(refused.status(), Some(401), "{refused}");
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> (u16, Value) {
    let reply = reqwest::Client::new()
        .post(format!("{}/oauth/token", app.base_url))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("an answer");
    let status = reply.status().as_u16();
    (status, reply.json().await.expect("JSON"))
}

async fn a_service_account_gets_a_token_by_client_credentials(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.admin
        .add_user("task-engine", "task-engine-secret", "service")
        .await
        .expect("a service account");
    app.admin
        .add_user("dave", "daves-password", "user")
        .await
        .expect("a person");
    let (status, reply) = client_credentials(&app, "task-engine", "task-engine-secret").await;
    assert_eq!(status, 200, "{reply}");
    let token = reply["access_token"].as_str().expect("a token").to_string();
    // The service API takes the service's token.
    app.admin.add_image("svc-image", None).await.expect("image");
    app.admin.add_host("127.0.0.9", 22, 2).await.expect("host");
    let service = with_token(&app, token);
    let created = service
        .create_vms("svc-image", 1, None)
        .await
        .expect("the service creates an instance");
    assert_eq!(created.len(), 1);
    // A person is no client; a wrong secret is refused.
    let (status, reply) = client_credentials(&app, "dave", "daves-password").await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, reply) = client_credentials(&app, "task-engine", "wrong").await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

async fn the_first_requests_of_a_new_subject_race_without_failing(backend: TestBackend) {
    // An external issuer's person, unknown to the portal: their first requests all arrive at
    // once (a script's parallel calls), and each must find or make the same portal user.
    let app = TestApp::spawn_with(backend, |c| c.auth = issuer().auth_config()).await;
    let token = issuer().token("newcomer", &[kit::auth::Role::Operator]);
    let client = with_token(&app, token);
    let calls: Vec<_> = (0..8).map(|_| client.my_instances(1, 10)).collect();
    for answer in futures_util::future::join_all(calls).await {
        answer.expect("every first request answers");
    }
}
