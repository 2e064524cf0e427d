//! The platform's embedded token issuer (issue #13): cloud-portal owns the users and their
//! argon2 passwords, so it also signs their access tokens. Any service verifies them with
//! `kit::auth::Verifier` against the keys published here, as it would those of any OIDC
//! provider: discovery at `/.well-known/openid-configuration`, keys at `/oauth/jwks`, tokens
//! from `/oauth/token` (RFC 6749).
//!
//! The signing key is an Ed25519 key generated on first start and kept in `issuer.key_file`
//! (0600, its folder 0700); its id is derived from the public key, so every replica reading
//! the same file publishes the same key. `issuer.published_key_files` are published beside it
//! and never sign: the next key before a rotation, the previous one after it.

use std::path::Path;

use jsonwebtoken::jwk::JwkSet;
use kit::auth::Grant;
use kit::signing::{now_secs, SigningKey};
use serde_json::{json, Value};

use crate::config::IssuerConfig;

#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("issuer key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("issuer key file {0} does not hold a 64-hex-digit Ed25519 seed")]
    BadKey(String),
    #[error("cannot sign a token: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

/// The signing side: the key, who it is, and what its tokens say.
pub struct Issuer {
    url: String,
    audience: String,
    token_ttl_secs: u64,
    refresh_ttl_secs: u64,
    key: SigningKey,
    /// Published for verification only (rotation).
    published: Vec<SigningKey>,
}

/// An access token and how long it lives.
pub struct AccessToken {
    pub token: String,
    pub expires_in: u64,
}

impl Issuer {
    /// The issuer of `config`, its key read from `key_file`, or generated there on first start.
    pub fn load_or_create(config: &IssuerConfig) -> Result<Issuer, IssuerError> {
        let seed = read_or_create_seed(&config.key_file)?;
        let published = config
            .published_key_files
            .iter()
            .map(|file| read_or_create_seed(file).map(|seed| SigningKey::from_seed(&seed)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Issuer {
            url: config.url.trim_end_matches('/').to_string(),
            audience: config.audience.clone(),
            token_ttl_secs: config.token_ttl_secs,
            refresh_ttl_secs: config.refresh_ttl_secs,
            key: SigningKey::from_seed(&seed),
            published,
        })
    }

    /// How long a refresh token lasts.
    pub fn refresh_ttl_secs(&self) -> u64 {
        self.refresh_ttl_secs
    }

    /// The `iss` of its tokens.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The OIDC discovery document.
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/oauth/jwks", self.url),
            "token_endpoint": format!("{}/oauth/token", self.url),
            "grant_types_supported": ["password", "client_credentials", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "roles", "grants"],
        })
    }

    /// The published keys: the signing key first, then the others of a rotation.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = std::iter::once(&self.key)
            .chain(&self.published)
            .map(SigningKey::jwk)
            .collect();
        json!({ "keys": keys })
    }

    /// The published keys, as a verifier in this process reads them.
    pub fn key_set(&self) -> JwkSet {
        serde_json::from_value(self.jwks()).unwrap_or(JwkSet { keys: Vec::new() })
    }

    /// An access token for `subject` holding `roles` (platform role names) everywhere and
    /// `grants` on single clusters. `grants` is always present, `[]` when there are none: a
    /// portal `user` with an operator grant on cluster 3 is
    /// `"roles": ["viewer"], "grants": [{"role": "operator", "cluster": 3}]`.
    pub fn access_token(
        &self,
        subject: &str,
        roles: &[&str],
        grants: &[Grant],
    ) -> Result<AccessToken, IssuerError> {
        let now = now_secs();
        let claims = json!({
            "iss": self.url,
            "aud": self.audience,
            "sub": subject,
            "roles": roles,
            "grants": grants,
            "iat": now,
            "nbf": now,
            "exp": now + self.token_ttl_secs,
            "jti": uuid::Uuid::new_v4().simple().to_string(),
        });
        Ok(AccessToken {
            token: self.key.sign(&claims)?,
            expires_in: self.token_ttl_secs,
        })
    }
}

impl Issuer {
    /// An API token (issue #13): a JWT like an access token but living `lifetime_secs`, with
    /// `token_use: "api"`, its id `jti` (what verifiers check against the revoked list) and
    /// its name.
    pub fn api_token(&self, token: &ApiTokenClaims<'_>) -> Result<String, IssuerError> {
        let now = now_secs();
        let claims = json!({
            "iss": self.url,
            "aud": self.audience,
            "sub": token.subject,
            "roles": token.roles,
            "grants": token.grants,
            "iat": now,
            "nbf": now,
            "exp": now + token.lifetime_secs,
            "jti": token.jti,
            "token_use": kit::auth::API_TOKEN_USE,
            "name": token.name,
        });
        Ok(self.key.sign(&claims)?)
    }
}

/// What an API token says.
pub struct ApiTokenClaims<'a> {
    pub subject: &'a str,
    pub roles: &'a [&'a str],
    pub grants: &'a [kit::auth::Grant],
    pub jti: &'a str,
    pub name: &'a str,
    pub lifetime_secs: u64,
}

/// The platform roles of a portal user's role: an admin is an admin, a service account a
/// service; an ordinary user may look (viewer).
pub fn platform_roles(portal_role: &str) -> &'static [&'static str] {
    match portal_role {
        wire::cloud_portal::ROLE_ADMIN => &["admin"],
        wire::cloud_portal::ROLE_SERVICE => &["service"],
        _ => &["viewer"],
    }
}

fn read_or_create_seed(path: &str) -> Result<[u8; 32], IssuerError> {
    let file_error = |source| IssuerError::KeyFile {
        path: path.to_string(),
        source,
    };
    let read = |text: String| -> Result<[u8; 32], IssuerError> {
        let bytes = hex::decode(text.trim()).map_err(|_| IssuerError::BadKey(path.into()))?;
        bytes
            .try_into()
            .map_err(|_| IssuerError::BadKey(path.into()))
    };
    match std::fs::read_to_string(path) {
        Ok(text) => read(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed = rand::random::<[u8; 32]>();
            match publish_private(Path::new(path), &hex::encode(seed)) {
                Ok(()) => Ok(seed),
                // Another replica (or test) made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    read(std::fs::read_to_string(path).map_err(file_error)?)
                }
                Err(e) => Err(file_error(e)),
            }
        }
        Err(e) => Err(file_error(e)),
    }
}

/// Writes `text` to `path` only if nothing is there, whole or not at all: a private temporary
/// file beside it (0600, in a folder made 0700), linked into place (which fails if `path`
/// exists), then removed.
fn publish_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)?;
    let temporary = dir.join(format!(".issuer-{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> IssuerConfig {
        IssuerConfig {
            url: "http://portal.test:8005/".into(),
            audience: "dcp".into(),
            key_file: dir.join("keys/issuer.key").display().to_string(),
            published_key_files: Vec::new(),
            token_ttl_secs: 600,
            refresh_ttl_secs: 3600,
            clients: Vec::new(),
        }
    }

    /// A rotation in its three steps, on one key folder: a token signed before stays valid
    /// through all of them, and the new key is published before it signs anything.
    #[test]
    fn the_key_rotates_without_invalidating_a_token() {
        use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
        let dir = tempfile::tempdir().expect("temp dir");
        let verifies = |issuer: &Issuer, token: &str| -> bool {
            let Ok(header) = decode_header(token) else {
                return false;
            };
            let Some(jwk) = header
                .kid
                .and_then(|kid| issuer.key_set().find(&kid).cloned())
            else {
                return false;
            };
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                return false;
            };
            let mut validation = Validation::new(Algorithm::EdDSA);
            validation.set_audience(&["dcp"]);
            decode::<Value>(token, &key, &validation).is_ok()
        };
        let old_file = dir.path().join("keys/issuer.key").display().to_string();
        let next_file = dir
            .path()
            .join("keys/issuer-next.key")
            .display()
            .to_string();
        let before = Issuer::load_or_create(&config(dir.path())).expect("the old key");
        let old_token = before
            .access_token("ann", &["viewer"], &[])
            .expect("a token")
            .token;

        // 1. Every replica publishes the next key; the old one still signs.
        let publishing = Issuer::load_or_create(&IssuerConfig {
            published_key_files: vec![next_file.clone()],
            ..config(dir.path())
        })
        .expect("the next key made and published");
        assert_eq!(publishing.key.kid(), before.key.kid());
        assert_eq!(publishing.jwks()["keys"].as_array().map(Vec::len), Some(2));
        assert!(verifies(&publishing, &old_token));

        // 2. The next key signs; the old one stays published.
        let switched = Issuer::load_or_create(&IssuerConfig {
            key_file: next_file.clone(),
            published_key_files: vec![old_file.clone()],
            ..config(dir.path())
        })
        .expect("switched");
        assert_eq!(switched.key.kid(), publishing.published[0].kid());
        let new_token = switched
            .access_token("ann", &["viewer"], &[])
            .expect("a token")
            .token;
        assert!(verifies(&switched, &old_token), "a token of the old key");
        assert!(verifies(&switched, &new_token), "a token of the new key");
        // What step 1 published already verifies what step 2 signs.
        assert!(verifies(&publishing, &new_token));

        // 3. Once the old key's tokens have expired, it is dropped.
        let done = Issuer::load_or_create(&IssuerConfig {
            key_file: next_file,
            ..config(dir.path())
        })
        .expect("done");
        assert_eq!(done.jwks()["keys"].as_array().map(Vec::len), Some(1));
        assert!(verifies(&done, &new_token));
        assert!(!verifies(&done, &old_token), "the old key is gone");
    }

    #[test]
    fn the_key_is_made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = Issuer::load_or_create(&config(dir.path())).expect("created");
        let again = Issuer::load_or_create(&config(dir.path())).expect("read back");
        assert_eq!(first.key.kid(), again.key.kid());
        assert_eq!(first.jwks(), again.jwks());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = dir.path().join("keys/issuer.key");
            let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode(&file).ok(), Some(0o600));
            assert_eq!(mode(&dir.path().join("keys")).ok(), Some(0o700));
        }
        assert_eq!(first.discovery()["issuer"], "http://portal.test:8005");
        assert_eq!(
            first.discovery()["jwks_uri"],
            "http://portal.test:8005/oauth/jwks"
        );
    }

    #[test]
    fn replicas_starting_together_share_one_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config(dir.path());
        let kids: Vec<String> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| Issuer::load_or_create(&config).map(|i| i.key.kid().to_string()))
                })
                .collect();
            starts
                .into_iter()
                .map(|start| start.join().expect("no panic").expect("a key"))
                .collect()
        });
        assert!(kids.iter().all(|kid| kid == &kids[0]), "{kids:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("keys"))
            .expect("the folder")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "temporary files left: {left:?}");
    }

    #[test]
    fn a_damaged_key_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config(dir.path());
        std::fs::create_dir_all(dir.path().join("keys")).expect("dir");
        std::fs::write(&config.key_file, "not hex").expect("write");
        assert!(matches!(
            Issuer::load_or_create(&config),
            Err(IssuerError::BadKey(_))
        ));
        assert_eq!(
            std::fs::read_to_string(&config.key_file).ok().as_deref(),
            Some("not hex")
        );
    }

    #[test]
    fn portal_roles_map_to_platform_roles() {
        assert_eq!(platform_roles("admin"), ["admin"]);
        assert_eq!(platform_roles("service"), ["service"]);
        assert_eq!(platform_roles("user"), ["viewer"]);
    }
}
