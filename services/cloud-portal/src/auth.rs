//! Passwords (argon2id), session keys (160 random bits, stored as SHA-256), and the
//! failed-login throttle. Nothing here knows about HTTP or the database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::{LoginConfig, PasswordHashConfig};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes `password` with argon2id at the configured cost, in PHC string form.
pub fn hash_password(password: &str, cost: &PasswordHashConfig) -> Result<String, HashError> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
        .map_err(|e| HashError(e.to_string()))?;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches the PHC string `hash` (at the cost the hash was made with).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new session key: 160 random bits from the thread's CSPRNG, as 40 hex digits
/// (the length of the original's SHA-1 keys, so clients that store them still fit).
pub fn new_session_key() -> String {
    let mut key = [0u8; 20];
    rand::rng().fill_bytes(&mut key);
    hex::encode(key)
}

/// What the sessions table stores of a key: its SHA-256, in hex.
pub fn session_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// True when `key` has the shape of our keys (40 lowercase or uppercase hex digits).
pub fn looks_like_session_key(key: &str) -> bool {
    key.len() == 40 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Failed logins per (username, client address): after the n-th failure in a row the pair is
/// refused for `base * 2^(n-1)` (at most `max`) without a password check. Keying on the pair
/// keeps one attacker from locking a user out from everywhere; the delay grows fast enough
/// that guessing from one address is hopeless. In memory: a restart forgets it.
pub struct LoginThrottle {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<(String, Option<IpAddr>), Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    blocked_until: Instant,
}

/// Beyond this many tracked pairs, entries whose block has passed are swept.
const SWEEP_ABOVE: usize = 10_000;

impl LoginThrottle {
    pub fn new(config: &LoginConfig) -> Self {
        LoginThrottle {
            base: Duration::from_millis(config.failure_delay_ms),
            max: Duration::from_secs(config.max_delay_secs),
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Option<IpAddr>), Failures>> {
        // A panic while holding the lock leaves a map that is still consistent.
        match self.failures.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// `Err(seconds to wait)` while the pair is blocked.
    pub fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let now = Instant::now();
        match self.lock().get(&(username.to_string(), ip)) {
            Some(f) if f.blocked_until > now => {
                let left = f.blocked_until - now;
                // Round up: "try again in 0 s" would invite an immediate, refused retry.
                Err(left.as_secs() + u64::from(left.subsec_nanos() > 0))
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, username: &str, ip: Option<IpAddr>) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, f| f.blocked_until > now);
        }
        let entry = map.entry((username.to_string(), ip)).or_insert(Failures {
            count: 0,
            blocked_until: now,
        });
        entry.count = entry.count.saturating_add(1);
        let factor = 1u32 << (entry.count - 1).min(20);
        entry.blocked_until = now + self.base.saturating_mul(factor).min(self.max);
    }

    pub fn record_success(&self, username: &str, ip: Option<IpAddr>) {
        self.lock().remove(&(username.to_string(), ip));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHashConfig {
        PasswordHashConfig {
            memory_kib: 64,
            iterations: 1,
        }
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("s3cret", &cheap()).expect("hashes");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("s3cret", &hash));
        assert!(!verify_password("s3cret ", &hash));
        assert!(!verify_password("s3cret", "not a hash"));
        assert_ne!(hash, hash_password("s3cret", &cheap()).expect("hashes"));
    }

    #[test]
    fn session_keys_are_160_bit_hex_and_stored_hashed() {
        let key = new_session_key();
        assert!(looks_like_session_key(&key), "{key}");
        assert_ne!(key, new_session_key());
        let hashed = session_key_hash(&key);
        assert_eq!(hashed.len(), 64);
        assert!(!hashed.contains(&key));
    }

    #[test]
    fn failures_block_the_pair_with_a_growing_delay() {
        let throttle = LoginThrottle::new(&LoginConfig {
            failure_delay_ms: 1000,
            max_delay_secs: 3,
        });
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        let other: Option<IpAddr> = "10.0.0.2".parse().ok();
        assert_eq!(throttle.check("bob", ip), Ok(()));
        throttle.record_failure("bob", ip);
        assert_eq!(throttle.check("bob", ip), Err(1));
        assert_eq!(throttle.check("bob", other), Ok(()), "another address");
        assert_eq!(throttle.check("alice", ip), Ok(()), "another user");
        throttle.record_failure("bob", ip);
        assert_eq!(throttle.check("bob", ip), Err(2));
        throttle.record_failure("bob", ip);
        assert_eq!(throttle.check("bob", ip), Err(3), "capped at the maximum");
        throttle.record_success("bob", ip);
        assert_eq!(throttle.check("bob", ip), Ok(()));
    }
}
