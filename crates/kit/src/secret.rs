//! A password, api secret or key read from the configuration.
//!
//! [`Secret`] wraps [`secrecy::SecretString`]: `Debug` (and so every `{:?}` of a
//! configuration, and every log of one) shows `[redacted]`, and the value is wiped from
//! memory when dropped. Code that needs the value asks for it by name:
//! [`Secret::expose_secret`].

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// A configured secret; read it with [`Secret::expose_secret`].
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The value itself: for the one place that sends or checks it, never for a log.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether none is configured (an empty value means "not set" in the configurations).
    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Writes the value itself: [`crate::config::load`] layers a configuration's defaults by
/// serializing them, so a default secret (a demo password) must survive the round trip.
/// Nothing else serializes a configuration.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, ConfigError, Validate};

    #[derive(Debug, Serialize, Deserialize)]
    struct Sample {
        user: String,
        password: Secret,
    }

    impl Validate for Sample {
        fn validate(&self) -> Result<(), ConfigError> {
            Ok(())
        }
    }

    #[test]
    fn debug_hides_the_value_and_the_defaults_layer_keeps_it() {
        let defaults = Sample {
            user: "admin".into(),
            password: Secret::new("demo-password-1234"),
        };
        let shown = format!("{defaults:?} {:#?}", defaults);
        assert!(!shown.contains("demo-password-1234"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");

        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "").expect("write");
        let loaded = load(&defaults, Some(&empty)).expect("defaults only");
        assert_eq!(loaded.password.expose_secret(), "demo-password-1234");

        let file = dir.path().join("sample.toml");
        std::fs::write(&file, "password = \"0123\"\n").expect("write");
        let loaded = load(&defaults, Some(&file)).expect("file layer");
        assert_eq!(loaded.password.expose_secret(), "0123", "text stays text");
        assert!(!loaded.password.is_empty());
        assert!(Secret::default().is_empty());
    }
}
