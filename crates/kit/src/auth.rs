//! Identity (issue #13, first piece): bearer tokens verified locally. An access token is a JWT
//! signed by the configured issuer; its keys come from the issuer's JWKS, fetched and cached,
//! fetched again when a token names a key the cache does not hold (key rotation) — at most
//! once per `keys_refetch_secs`, so a flood of made-up key ids costs one fetch. Issuer,
//! audience, expiry and not-before are checked; `alg: none` and symmetric algorithms are never
//! accepted (a JWKS publishes public keys). Any OIDC provider can be the issuer by
//! configuration alone.
//!
//! What a verified token says is a [`Principal`]: its subject and its roles, read from the
//! claim `roles_claim` names.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::RwLock;

use crate::config::ConfigError;
use crate::revocation::{RevocationList, RevocationSource, Standing};

/// The `token_use` claim of an API token (long-lived, revocable), as the issuer signs it.
pub const API_TOKEN_USE: &str = "api";

fn revocation_list(config: &AuthConfig, source: RevocationSource) -> RevocationList {
    RevocationList::new(
        source,
        Duration::from_secs(config.revocation_poll_secs),
        Duration::from_secs(config.revocation_stale_secs),
    )
}

/// What a role lets its holder do. Defining commands (admin) is apart from running them
/// (operator), as in AWX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Runs flows and tasks; writes CIs and registry members.
    Operator,
    /// Everything, defining actions and templates included.
    Admin,
    /// A peer service, for the routes the built-in steps call.
    Service,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            "service" => Some(Role::Service),
            _ => None,
        }
    }

    /// The role's name, as tokens and proto-docs spell it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }

    /// Whether holding `self` includes what `needed` allows (admin ⊇ operator ⊇ viewer; a
    /// service role is its own).
    pub fn covers(self, needed: Role) -> bool {
        matches!(
            (self, needed),
            (Role::Admin, _)
                | (Role::Operator, Role::Operator | Role::Viewer)
                | (Role::Viewer, Role::Viewer)
                | (Role::Service, Role::Service)
        )
    }
}

/// A role held on one cluster (and everything under it: its services, pools, nodes and their
/// tasks), as the claim `grants` lists them: `[{"role": "operator", "cluster": 3}]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: Role,
    pub cluster: i64,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`: the person or service, as the issuer names it.
    pub subject: String,
    /// Roles the issuer gave it platform-wide; names this platform does not know are ignored.
    pub roles: Vec<Role>,
    /// Roles held on single clusters.
    pub grants: Vec<Grant>,
}

impl Principal {
    /// The role platform-wide.
    pub fn has(&self, needed: Role) -> bool {
        self.roles.iter().any(|role| role.covers(needed))
    }

    /// The role platform-wide or on `cluster`.
    pub fn may(&self, needed: Role, cluster: i64) -> bool {
        self.has(needed)
            || self
                .grants
                .iter()
                .any(|grant| grant.cluster == cluster && grant.role.covers(needed))
    }

    /// The role platform-wide or on some cluster.
    pub fn may_somewhere(&self, needed: Role) -> bool {
        self.has(needed) || self.grants.iter().any(|grant| grant.role.covers(needed))
    }

    /// The clusters the role is held on; `None` when it is held platform-wide.
    pub fn clusters(&self, needed: Role) -> Option<Vec<i64>> {
        if self.has(needed) {
            return None;
        }
        let mut clusters: Vec<i64> = self
            .grants
            .iter()
            .filter(|grant| grant.role.covers(needed))
            .map(|grant| grant.cluster)
            .collect();
        clusters.sort_unstable();
        clusters.dedup();
        Some(clusters)
    }
}

/// `[auth]`: which issuer's tokens a service accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthConfig {
    /// The `iss` every token must carry, e.g. `https://sso.example.com/realms/dc`.
    pub issuer: String,
    /// The `aud` every token must carry (one of its audiences).
    pub audience: String,
    /// Where the issuer publishes its keys (a JWKS document).
    pub jwks_url: String,
    /// The claim that lists the roles (a list of names, or one name); `roles` by default.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// Seconds the fetched keys are kept before they are fetched again.
    #[serde(default = "default_keys_ttl")]
    pub keys_ttl_secs: u64,
    /// The least seconds between two fetches caused by unknown key ids.
    #[serde(default = "default_keys_refetch")]
    pub keys_refetch_secs: u64,
    /// Seconds of clock difference allowed on `exp` and `nbf`.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// The issuer's list of revoked API tokens (`<issuer>/oauth/revoked`); empty: API tokens
    /// are not checked against one (an issuer without API tokens). See `kit::revocation`.
    #[serde(default)]
    pub revocation_url: String,
    /// The longest a revocation goes unseen: the list is fetched again this often.
    #[serde(default = "default_revocation_poll")]
    pub revocation_poll_secs: u64,
    /// How long the last list serves when the issuer cannot be reached; then API tokens are
    /// refused (503) until it can be.
    #[serde(default = "default_revocation_stale")]
    pub revocation_stale_secs: u64,
}

/// Incomplete on purpose: a service whose `[auth]` is not configured refuses to start.
impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: String::new(),
            audience: String::new(),
            jwks_url: String::new(),
            roles_claim: default_roles_claim(),
            keys_ttl_secs: default_keys_ttl(),
            keys_refetch_secs: default_keys_refetch(),
            leeway_secs: default_leeway(),
            revocation_url: String::new(),
            revocation_poll_secs: default_revocation_poll(),
            revocation_stale_secs: default_revocation_stale(),
        }
    }
}

fn default_revocation_poll() -> u64 {
    10
}
fn default_revocation_stale() -> u64 {
    60
}

fn default_roles_claim() -> String {
    "roles".into()
}
fn default_keys_ttl() -> u64 {
    300
}
fn default_keys_refetch() -> u64 {
    10
}
fn default_leeway() -> u64 {
    30
}

impl AuthConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, value) in [
            ("auth.issuer", &self.issuer),
            ("auth.audience", &self.audience),
            ("auth.jwks_url", &self.jwks_url),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(key, "must be set"));
            }
        }
        for (key, url) in [
            ("auth.jwks_url", &self.jwks_url),
            ("auth.revocation_url", &self.revocation_url),
        ] {
            let empty_allowed = key == "auth.revocation_url" && url.is_empty();
            if !(empty_allowed || url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::invalid(
                    key,
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if !(1..=3600).contains(&self.revocation_poll_secs) {
            return Err(ConfigError::invalid(
                "auth.revocation_poll_secs",
                "must be between 1 and 3600",
            ));
        }
        Ok(())
    }
}

/// Why a token is refused. The message is safe to show the caller: it never holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no bearer token: send `Authorization: Bearer <access token>`")]
    Missing,
    /// An `Authorization` of another scheme (the orchestration seed's `Authorization: root`).
    #[error(
        "`Authorization` must be `Bearer <access token>` (the seed's `Authorization: root` is \
         no longer accepted; see proto-docs/identity.md for how to get a token)"
    )]
    Scheme,
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not accepted (asymmetric signatures only)")]
    Algorithm,
    #[error("the token names no key of the issuer")]
    UnknownKey,
    #[error("the token's signature is not the issuer's")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is from another issuer")]
    Issuer,
    #[error("the token is for another audience")]
    Audience,
    #[error("the token has no subject")]
    NoSubject,
    /// The issuer's keys could not be fetched: the service answers 503, not 401.
    #[error("the issuer's keys cannot be fetched: {0}")]
    KeysUnavailable(String),
    /// An API token its owner or an admin revoked.
    #[error("the token has been revoked")]
    Revoked,
}

/// The asymmetric algorithms a JWKS key may sign with.
const ACCEPTED: [Algorithm; 7] = [
    Algorithm::EdDSA,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
];

struct Keys {
    by_id: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    fetched: Option<Instant>,
}

/// Where the issuer's public keys come from.
enum KeySource {
    /// Its JWKS, over HTTP.
    Remote(reqwest::Client),
    /// The issuer in this very process (cloud-portal verifying its own tokens).
    Local(Box<dyn Fn() -> JwkSet + Send + Sync>),
}

/// Verifies bearer tokens of one issuer; shared by every request of a service.
pub struct Verifier {
    config: AuthConfig,
    source: KeySource,
    keys: RwLock<Keys>,
    revocations: Option<RevocationList>,
    /// Tokens already verified, by their exact text: a signature check costs as much as the
    /// rest of a request, and a client sends the same token many times.
    verified: std::sync::Mutex<HashMap<String, Verified>>,
}

/// A token verified before, and until when that holds without checking it again.
struct Verified {
    principal: Principal,
    until: Instant,
    api_token_id: Option<String>,
}

/// How long a verified token is trusted without its signature checked again (never past its
/// `exp`): a key the issuer withdraws stops working within this.
const VERIFIED_FOR: Duration = Duration::from_secs(60);
/// The most verified tokens kept; beyond it the cache starts afresh.
const VERIFIED_MAX: usize = 10_000;

impl Verifier {
    /// A verifier of `config`'s issuer; refused when `config` is incomplete (there is no
    /// setting that turns authentication off).
    pub fn new(config: AuthConfig) -> Result<Verifier, ConfigError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ConfigError::invalid("auth.jwks_url", format!("no HTTP client: {e}")))?;
        let revocations = (!config.revocation_url.is_empty()).then(|| {
            let source = RevocationSource::Remote {
                http: http.clone(),
                url: config.revocation_url.clone(),
            };
            revocation_list(&config, source)
        });
        let mut verifier = Verifier::with_source(config, KeySource::Remote(http));
        verifier.revocations = revocations;
        Ok(verifier)
    }

    /// The same verifier, checking API tokens against `source`'s revoked tokens (the issuer in
    /// this process).
    pub fn with_revocations(mut self, source: RevocationSource) -> Verifier {
        self.revocations = Some(revocation_list(&self.config, source));
        self
    }

    /// A verifier of the issuer in this process, whose current keys `keys` gives
    /// (`auth.jwks_url` is not used).
    pub fn local(
        config: AuthConfig,
        keys: impl Fn() -> JwkSet + Send + Sync + 'static,
    ) -> Verifier {
        Verifier::with_source(config, KeySource::Local(Box::new(keys)))
    }

    fn with_source(config: AuthConfig, source: KeySource) -> Verifier {
        Verifier {
            config,
            source,
            keys: RwLock::new(Keys {
                by_id: HashMap::new(),
                fetched: None,
            }),
            revocations: None,
            verified: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The principal `token` speaks for, or why not: from the cache of verified tokens while it
    /// holds (an API token is still checked against the revoked list every time), else checked.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let cached = self.verified.lock().ok().and_then(|cache| {
            cache
                .get(token)
                .filter(|hit| Instant::now() < hit.until)
                .map(|hit| (hit.principal.clone(), hit.api_token_id.clone()))
        });
        if let Some((principal, api_token_id)) = cached {
            if let Some(jti) = api_token_id {
                self.check_not_revoked(&serde_json::json!({ "jti": jti }))
                    .await?;
            }
            return Ok(principal);
        }
        let (principal, expires_in, api_token_id) = self.check(token).await?;
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_MAX {
                cache.clear();
            }
            cache.insert(
                token.to_string(),
                Verified {
                    principal: principal.clone(),
                    until: Instant::now() + expires_in.min(VERIFIED_FOR),
                    api_token_id,
                },
            );
        }
        Ok(principal)
    }

    /// Checks `token` whole: what it says, how long it has left, and its id if it is an API
    /// token.
    async fn check(&self, token: &str) -> Result<(Principal, Duration, Option<String>), AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(AuthError::Algorithm);
        }
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let (key, key_alg) = self.key(&kid).await?;
        if key_alg.is_some_and(|alg| alg != header.alg) {
            return Err(AuthError::Algorithm);
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway_secs;
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(refusal)?;
        let claims = data.claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(AuthError::NoSubject)?
            .to_string();
        let roles = match claims.get(&self.config.roles_claim) {
            Some(Value::String(one)) => Role::parse(one).into_iter().collect(),
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(Value::as_str)
                .filter_map(Role::parse)
                .collect(),
            _ => Vec::new(),
        };
        let api_token_id = if claims.get("token_use").and_then(Value::as_str) == Some(API_TOKEN_USE)
        {
            self.check_not_revoked(&claims).await?;
            claims
                .get("jti")
                .and_then(Value::as_str)
                .map(str::to_string)
        } else {
            None
        };
        let now = crate::signing::now_secs();
        let expires_in = claims
            .get("exp")
            .and_then(Value::as_u64)
            .map_or(Duration::ZERO, |exp| {
                Duration::from_secs(exp.saturating_sub(now))
            });
        let grants = claims
            .get("grants")
            .and_then(Value::as_array)
            .map(|grants| {
                grants
                    .iter()
                    .filter_map(|grant| serde_json::from_value::<Grant>(grant.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok((
            Principal {
                subject,
                roles,
                grants,
            },
            expires_in,
            api_token_id,
        ))
    }

    /// An API token must carry its id, and its id must not be on the issuer's list.
    async fn check_not_revoked(&self, claims: &Value) -> Result<(), AuthError> {
        let Some(list) = &self.revocations else {
            return Ok(());
        };
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .ok_or(AuthError::Malformed)?;
        match list.standing(jti).await {
            Standing::Valid => Ok(()),
            Standing::Revoked => Err(AuthError::Revoked),
            Standing::Unknown(reason) => Err(AuthError::KeysUnavailable(reason)),
        }
    }

    /// The key `kid`: from the cache while it is fresh, else fetched (a rotated key appears
    /// within one fetch; unknown ids fetch at most once per `keys_refetch_secs`).
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Option<Algorithm>), AuthError> {
        let ttl = Duration::from_secs(self.config.keys_ttl_secs);
        let refetch = Duration::from_secs(self.config.keys_refetch_secs);
        {
            let keys = self.keys.read().await;
            let fresh = keys.fetched.is_some_and(|at| at.elapsed() < ttl);
            if let (true, Some(found)) = (fresh, keys.by_id.get(kid)) {
                return Ok(found.clone());
            }
            let recently = keys.fetched.is_some_and(|at| at.elapsed() < refetch);
            if fresh && recently {
                return Err(AuthError::UnknownKey);
            }
        }
        let mut keys = self.keys.write().await;
        // Another request may have fetched while this one waited for the lock.
        let recently = keys.fetched.is_some_and(|at| at.elapsed() < refetch);
        if !recently {
            keys.by_id = self.fetch().await?;
            keys.fetched = Some(Instant::now());
        }
        keys.by_id.get(kid).cloned().ok_or(AuthError::UnknownKey)
    }

    async fn fetch(&self) -> Result<HashMap<String, (DecodingKey, Option<Algorithm>)>, AuthError> {
        let unavailable = |e: reqwest::Error| AuthError::KeysUnavailable(e.to_string());
        let set: JwkSet = match &self.source {
            KeySource::Local(keys) => keys(),
            KeySource::Remote(http) => http
                .get(&self.config.jwks_url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(unavailable)?
                .json()
                .await
                .map_err(unavailable)?,
        };
        let mut by_id = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let alg = jwk
                .common
                .key_algorithm
                .and_then(|alg| alg.to_string().parse::<Algorithm>().ok());
            // Keys of algorithms not accepted (a symmetric `oct` key above all) are skipped.
            if alg.is_some_and(|alg| !ACCEPTED.contains(&alg)) {
                continue;
            }
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                by_id.insert(kid, (key, alg));
            }
        }
        Ok(by_id)
    }
}

fn refusal(error: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::Issuer,
        ErrorKind::InvalidAudience => AuthError::Audience,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => AuthError::Algorithm,
        ErrorKind::MissingRequiredClaim(claim) if claim == "sub" => AuthError::NoSubject,
        ErrorKind::InvalidSignature => AuthError::Signature,
        _ => AuthError::Malformed,
    }
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use actix_web::{web, App, HttpResponse, HttpServer};
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://issuer.test";
    const AUDIENCE: &str = "dcp";

    /// An Ed25519 signing key with its id, as an issuer keeps it.
    struct SigningKey {
        kid: String,
        key: EncodingKey,
        public: [u8; 32],
    }

    impl SigningKey {
        fn new(kid: &str) -> SigningKey {
            let seed = rand::random::<[u8; 32]>();
            // PKCS#8 v1 of an Ed25519 seed: the fixed 16-byte header, then the seed.
            let mut der = hex_bytes("302e020100300506032b657004220420");
            der.extend_from_slice(&seed);
            SigningKey {
                kid: kid.into(),
                key: EncodingKey::from_ed_der(&der),
                public: ed25519_dalek::SigningKey::from_bytes(&seed)
                    .verifying_key()
                    .to_bytes(),
            }
        }

        /// The public key as the issuer's JWKS lists it.
        fn public(&self) -> Value {
            use base64::Engine;
            let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.public);
            let jwk: Jwk = serde_json::from_value(json!({
                "kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": "EdDSA", "use": "sig"
            }))
            .expect("a JWK");
            serde_json::to_value(jwk).expect("JSON")
        }

        fn sign(&self, claims: Value) -> String {
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some(self.kid.clone());
            jsonwebtoken::encode(&header, &claims, &self.key).expect("signed")
        }
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims(sub: &str) -> Value {
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now() + 300, "roles": ["operator"]})
    }

    /// An issuer's JWKS endpoint on loopback, counting its fetches.
    struct Issuer {
        keys: Arc<Mutex<Vec<Value>>>,
        fetches: Arc<AtomicUsize>,
        url: String,
        _handle: actix_web::dev::ServerHandle,
    }

    async fn issuer(keys: Vec<Value>) -> Issuer {
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (keys.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (served, counted) = (served.clone(), counted.clone());
            App::new().route(
                "/jwks",
                web::get().to(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let keys = served.lock().map(|k| k.clone()).unwrap_or_default();
                    async move { HttpResponse::Ok().json(json!({ "keys": keys })) }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Issuer {
            keys,
            fetches,
            url: format!("http://{addr}/jwks"),
            _handle: handle,
        }
    }

    fn verifier(jwks_url: &str, refetch_secs: u64) -> Verifier {
        Verifier::new(AuthConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks_url: jwks_url.into(),
            roles_claim: "roles".into(),
            keys_ttl_secs: 300,
            keys_refetch_secs: refetch_secs,
            leeway_secs: 0,
            ..AuthConfig::default()
        })
        .expect("a verifier")
    }

    #[actix_web::test]
    async fn a_token_of_the_issuer_names_its_subject_and_roles() {
        let key = SigningKey::new("k1");
        let issuer = issuer(vec![key.public()]).await;
        let verifier = verifier(&issuer.url, 10);
        let principal = verifier
            .verify(&key.sign(claims("alice")))
            .await
            .expect("valid");
        assert_eq!(principal.subject, "alice");
        assert_eq!(principal.roles, vec![Role::Operator]);
        assert!(principal.has(Role::Viewer) && !principal.has(Role::Admin));
    }

    #[actix_web::test]
    async fn bad_tokens_are_refused_for_what_is_wrong() {
        let key = SigningKey::new("k1");
        let forger = SigningKey::new("k1");
        let issuer = issuer(vec![key.public()]).await;
        let verifier = verifier(&issuer.url, 10);
        let with = |change: Value| {
            let mut c = claims("alice");
            if let (Some(c), Some(change)) = (c.as_object_mut(), change.as_object()) {
                c.extend(change.clone());
            }
            c
        };
        for (token, refusal) in [
            (
                key.sign(with(json!({"exp": now() - 60}))),
                AuthError::Expired,
            ),
            (
                key.sign(with(json!({"nbf": now() + 600}))),
                AuthError::NotYetValid,
            ),
            (key.sign(with(json!({"aud": "other"}))), AuthError::Audience),
            (
                key.sign(with(json!({"iss": "https://evil.test"}))),
                AuthError::Issuer,
            ),
            (forger.sign(claims("alice")), AuthError::Signature),
            (
                SigningKey::new("k9").sign(claims("alice")),
                AuthError::UnknownKey,
            ),
            ("not.a.jwt".to_string(), AuthError::Malformed),
        ] {
            assert_eq!(
                verifier.verify(&token).await,
                Err(refusal.clone()),
                "{refusal}"
            );
        }
        // `alg: none`, and a symmetric token signed with something public, never pass.
        let payload = key.sign(claims("alice"));
        let body = payload.split('.').nth(1).expect("a payload");
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIiwia2lkIjoiazEifQ.{body}.");
        assert!(verifier.verify(&none).await.is_err());
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some("k1".into());
        let hs_token = jsonwebtoken::encode(&hs, &claims("alice"), &EncodingKey::from_secret(b"x"))
            .expect("signed");
        assert_eq!(verifier.verify(&hs_token).await, Err(AuthError::Algorithm));
    }

    #[actix_web::test]
    async fn a_rotated_key_is_fetched_and_unknown_ids_do_not_flood_the_issuer() {
        let old = SigningKey::new("2026-a");
        let issuer = issuer(vec![old.public()]).await;
        let verifier = verifier(&issuer.url, 1);
        verifier
            .verify(&old.sign(claims("a")))
            .await
            .expect("the first key");
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
        // Many tokens with made-up key ids within the refetch window: no fetch at all.
        for n in 0..20 {
            let stranger = SigningKey::new(&format!("made-up-{n}"));
            let refused = verifier.verify(&stranger.sign(claims("a"))).await;
            assert_eq!(refused, Err(AuthError::UnknownKey));
        }
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 1);
        // The issuer rotates: a new key next to the old one. After the window, a token of
        // the new key verifies without a restart, and the old key still does.
        let new = SigningKey::new("2026-b");
        if let Ok(mut keys) = issuer.keys.lock() {
            keys.push(new.public());
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        verifier
            .verify(&new.sign(claims("b")))
            .await
            .expect("the rotated key");
        verifier
            .verify(&old.sign(claims("a")))
            .await
            .expect("the old key");
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 2);
    }

    #[actix_web::test]
    async fn an_issuer_that_cannot_be_reached_is_not_the_callers_fault() {
        let key = SigningKey::new("k1");
        let verifier = verifier("http://127.0.0.1:9/jwks", 10);
        let refused = verifier.verify(&key.sign(claims("a"))).await;
        assert!(
            matches!(refused, Err(AuthError::KeysUnavailable(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn the_bearer_scheme_is_read_and_nothing_else() {
        assert_eq!(bearer(Some("Bearer abc.def.ghi")), Ok("abc.def.ghi"));
        assert_eq!(bearer(Some("bearer  tok ")), Ok("tok"));
        assert_eq!(bearer(Some("root")), Err(AuthError::Missing));
        assert_eq!(bearer(Some("Basic dXNlcg==")), Err(AuthError::Missing));
        assert_eq!(bearer(None), Err(AuthError::Missing));
    }

    #[test]
    fn roles_cover_the_roles_below_them() {
        assert!(Role::Admin.covers(Role::Operator));
        assert!(Role::Operator.covers(Role::Viewer));
        assert!(!Role::Viewer.covers(Role::Operator));
        assert!(!Role::Service.covers(Role::Viewer));
        assert_eq!(Role::parse(" Admin "), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }
}
