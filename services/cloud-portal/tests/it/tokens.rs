//! The embedded issuer: its tokens verify with kit's verifier against its published keys,
//! as every service will verify them; wrong passwords and other grants are refused in
//! OAuth's own terms.

use kit::auth::{AuthConfig, AuthError, Role, Verifier};
use kit::testing::TestBackend;
use serde_json::Value;

use crate::support::{TestApp, ADMIN, ADMIN_PASSWORD};

kit::on_both_backends!(
    a_token_of_the_portal_verifies_against_its_published_keys,
    bad_grants_are_refused_in_oauth_terms,
    a_refresh_token_gives_a_new_pair_once_and_a_replay_ends_them_all,
);

/// The refresh grant (RFC 6749, 6): a person's password grant comes with a refresh token; it
/// gives a new access token and a new refresh token, once; presented again it is refused and
/// ends the refresh token it had been exchanged for as well (RFC 9700, 4.14.2).
async fn a_refresh_token_gives_a_new_pair_once_and_a_replay_ends_them_all(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let (status, first) = token_request(
        &app,
        &[
            ("grant_type", "password"),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let refresh = first["refresh_token"].as_str().expect("a refresh token");
    let refreshed = |token: String| {
        let app = &app;
        async move {
            token_request(
                app,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };

    let (status, second) = refreshed(refresh.to_string()).await;
    assert_eq!(status, 200, "{second}");
    let access = second["access_token"].as_str().expect("an access token");
    let principal = verifier(&app, &app.config.issuer.audience)
        .verify(access)
        .await
        .expect("the refreshed token verifies");
    assert_eq!(principal.subject, ADMIN);
    assert_eq!(principal.roles, vec![Role::Admin]);
    let next = second["refresh_token"]
        .as_str()
        .expect("a new refresh token");
    assert_ne!(next, refresh);

    // The used one again: refused, and the one it was exchanged for ends with it.
    let (status, replay) = refreshed(refresh.to_string()).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (400, Some("invalid_grant")),
        "{replay}"
    );
    let (status, after) = refreshed(next.to_string()).await;
    assert_eq!(
        (status, after["error"].as_str()),
        (400, Some("invalid_grant")),
        "the whole family ended: {after}"
    );
    // An unknown one.
    let (status, unknown) = refreshed("00".repeat(20)).await;
    assert_eq!(
        (status, unknown["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Discovery offers the grant.
    let discovery: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.base_url))
            .await
            .expect("discovery")
            .json()
            .await
            .expect("JSON");
    assert!(discovery["grant_types_supported"]
        .as_array()
        .is_some_and(|grants| grants.iter().any(|g| g == "refresh_token")));
}

async fn token_request(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", app.base_url))
        .form(form)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// A service's verifier of the portal's tokens for `audience`, its keys fetched over HTTP as a
/// service on another host would.
fn verifier(app: &TestApp, audience: &str) -> Verifier {
    Verifier::new(AuthConfig {
        issuer: app.config.issuer.url.clone(),
        audience: audience.into(),
        jwks_url: format!("{}/oauth/jwks", app.base_url),
        roles_claim: "roles".into(),
        keys_ttl_secs: 300,
        keys_refetch_secs: 10,
        leeway_secs: 0,
        ..AuthConfig::default()
    })
    .expect("a verifier")
}

async fn a_token_of_the_portal_verifies_against_its_published_keys(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let discovery: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.base_url))
            .await
            .expect("discovery")
            .json()
            .await
            .expect("JSON");
    assert_eq!(discovery["issuer"], app.config.issuer.url.as_str());
    let (status, body) = token_request(
        &app,
        &[
            ("grant_type", "password"),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().expect("a token");
    let ours = verifier(&app, &app.config.issuer.audience);
    let principal = ours
        .verify(token)
        .await
        .expect("the portal's token verifies");
    assert_eq!(principal.subject, ADMIN);
    assert_eq!(principal.roles, vec![Role::Admin]);
    // The same token for another audience is not accepted.
    let elsewhere = verifier(&app, "another-platform");
    assert_eq!(elsewhere.verify(token).await, Err(AuthError::Audience));
}

async fn bad_grants_are_refused_in_oauth_terms(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = token_request(
        &app,
        &[
            ("grant_type", "password"),
            ("username", ADMIN),
            ("password", "not-the-password"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(!body.to_string().contains("not-the-password"), "{body}");
    let (status, body) = token_request(
        &app,
        &[("grant_type", "client_credentials"), ("client_id", "x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "a client without its secret: {body}"
    );
    let (status, body) = token_request(&app, &[("grant_type", "implicit")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = token_request(&app, &[("username", ADMIN)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}
