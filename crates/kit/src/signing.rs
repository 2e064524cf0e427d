//! The signing side of access tokens: an Ed25519 key, the JWK that publishes its public half,
//! and JWTs signed with it. Used by cloud-portal's embedded issuer and by the test issuer of
//! `kit::testing`; every service verifies what they sign with [`crate::auth::Verifier`].

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The fixed head of a PKCS#8 (v1) document holding an Ed25519 seed; the 32-byte seed follows.
const ED25519_PKCS8_HEAD: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// An Ed25519 signing key and its id (derived from the public key, so every replica holding
/// the same seed publishes the same key).
pub struct SigningKey {
    kid: String,
    key: EncodingKey,
    /// The public key, base64url: the `x` of its JWK.
    public_x: String,
}

impl SigningKey {
    /// The key of a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        let mut der = ED25519_PKCS8_HEAD.to_vec();
        der.extend_from_slice(seed);
        let public = ed25519_dalek::SigningKey::from_bytes(seed)
            .verifying_key()
            .to_bytes();
        SigningKey {
            kid: hex::encode(&Sha256::digest(public)[..8]),
            key: EncodingKey::from_ed_der(&der),
            public_x: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public),
        }
    }

    /// A new random key.
    pub fn generate() -> SigningKey {
        SigningKey::from_seed(&rand::random::<[u8; 32]>())
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWKS lists it.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP", "crv": "Ed25519", "x": self.public_x,
            "kid": self.kid, "alg": "EdDSA", "use": "sig",
        })
    }

    /// A JWT of `claims`, its header naming this key.
    pub fn sign(&self, claims: &Value) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
    }
}

/// Seconds since the Unix epoch, for `iat`, `nbf` and `exp`.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_id_follows_the_public_key() {
        let seed = [7u8; 32];
        assert_eq!(
            SigningKey::from_seed(&seed).kid(),
            SigningKey::from_seed(&seed).kid()
        );
        assert_ne!(
            SigningKey::from_seed(&seed).kid(),
            SigningKey::generate().kid()
        );
        let jwk = SigningKey::from_seed(&seed).jwk();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["alg"], "EdDSA");
    }
}
