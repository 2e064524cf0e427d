//! A token issuer for integration tests: a real JWKS endpoint on loopback (an HTTP server on a
//! thread of its own, so it outlives each test's runtime) and an Ed25519 key that signs the
//! tokens tests send. Services under test verify them exactly as they verify any OIDC
//! provider's: `auth.jwks_url` points at this server.

use std::sync::OnceLock;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};

use crate::auth::{AuthConfig, Grant, Role};
use crate::signing::{now_secs, SigningKey};

pub const TEST_ISSUER: &str = "https://issuer.dcp.test";
pub const TEST_AUDIENCE: &str = "dcp";

/// The issuer every test of this process shares.
pub struct TestIssuer {
    key: SigningKey,
    /// A key the issuer does not publish: what a forger signs with.
    stranger: SigningKey,
    pub jwks_url: String,
}

/// The shared test issuer, started on first use.
pub fn issuer() -> &'static TestIssuer {
    static ISSUER: OnceLock<TestIssuer> = OnceLock::new();
    ISSUER.get_or_init(TestIssuer::start)
}

impl TestIssuer {
    fn start() -> TestIssuer {
        let seed = rand::random::<[u8; 32]>();
        let key = SigningKey::from_seed(&seed);
        let jwks = json!({ "keys": [key.jwk()] });
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let signer = web::Data::new(SigningKey::from_seed(&seed));
                let server = HttpServer::new(move || {
                    let jwks = jwks.clone();
                    App::new()
                        .app_data(signer.clone())
                        .route(
                            "/jwks",
                            web::get().to(move || {
                                let jwks = jwks.clone();
                                async move { HttpResponse::Ok().json(jwks) }
                            }),
                        )
                        .route("/token", web::post().to(client_credentials))
                })
                .workers(1)
                .bind("127.0.0.1:0")
                .expect("the test issuer binds");
                let addr = server.addrs()[0];
                sender
                    .send(addr)
                    .expect("the test issuer reports its address");
                server.run().await.expect("the test issuer serves");
            });
        });
        let addr = receiver.recv().expect("the test issuer starts");
        TestIssuer {
            key,
            stranger: SigningKey::generate(),
            jwks_url: format!("http://{addr}/jwks"),
        }
    }

    /// The token endpoint: `grant_type=client_credentials` with a client id and its
    /// [`client_secret`](Self::client_secret) gives a `service` token for that id.
    pub fn token_url(&self) -> String {
        self.jwks_url.replace("/jwks", "/token")
    }

    /// The secret the test issuer expects of client `client_id`.
    pub fn client_secret(client_id: &str) -> String {
        format!("test-secret-of-{client_id}")
    }

    /// The `[auth]` of a service that trusts this issuer.
    pub fn auth_config(&self) -> AuthConfig {
        AuthConfig {
            issuer: TEST_ISSUER.into(),
            audience: TEST_AUDIENCE.into(),
            jwks_url: self.jwks_url.clone(),
            ..AuthConfig::default()
        }
    }

    /// The claims of a valid token for `subject` with `roles`, for tests to alter.
    pub fn claims(&self, subject: &str, roles: &[Role]) -> Value {
        let now = now_secs();
        json!({
            "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "sub": subject,
            "roles": roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
            "iat": now, "nbf": now, "exp": now + 3600,
        })
    }

    /// A valid token for `subject` holding `roles` platform-wide.
    pub fn token(&self, subject: &str, roles: &[Role]) -> String {
        self.sign(&self.claims(subject, roles))
    }

    /// A valid token for `subject` holding roles on single clusters only.
    pub fn scoped_token(&self, subject: &str, grants: &[Grant]) -> String {
        let mut claims = self.claims(subject, &[]);
        claims["grants"] = json!(grants);
        self.sign(&claims)
    }

    /// `claims` signed with the issuer's key.
    pub fn sign(&self, claims: &Value) -> String {
        self.key.sign(claims).expect("the test issuer signs")
    }

    /// Tokens every service must refuse with 401, each named by what is wrong with it.
    pub fn bad_tokens(&self) -> Vec<(&'static str, String)> {
        let good = self.claims("mallory", &[Role::Admin]);
        let altered = |field: &str, value: Value| {
            let mut claims = good.clone();
            claims[field] = value;
            self.sign(&claims)
        };
        let now = now_secs();
        let header_none = base64url(br#"{"alg":"none","typ":"JWT"}"#);
        let body = base64url(good.to_string().as_bytes());
        vec![
            ("expired", altered("exp", json!(now - 3600))),
            ("not yet valid", altered("nbf", json!(now + 3600))),
            ("wrong audience", altered("aud", json!("another-platform"))),
            ("wrong issuer", altered("iss", json!("https://evil.test"))),
            (
                "signed by another key",
                self.stranger.sign(&good).expect("signed"),
            ),
            ("alg none", format!("{header_none}.{body}.")),
            ("not a JWT", "not-a-token".into()),
        ]
    }
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(serde::Deserialize)]
struct ClientCredentialsForm {
    grant_type: String,
    client_id: String,
    client_secret: String,
}

/// `POST /token` (client credentials only): what the embedded issuer answers a service.
async fn client_credentials(
    signer: web::Data<SigningKey>,
    form: web::Form<ClientCredentialsForm>,
) -> HttpResponse {
    if form.grant_type != "client_credentials"
        || form.client_secret != TestIssuer::client_secret(&form.client_id)
    {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_client"}));
    }
    let now = now_secs();
    let claims = json!({
        "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "sub": form.client_id,
        "roles": ["service"], "iat": now, "nbf": now, "exp": now + 300,
    });
    match signer.sign(&claims) {
        Ok(token) => HttpResponse::Ok().json(json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 300,
        })),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}
