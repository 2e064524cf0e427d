//! A host address as every service accepts it: an IPv4 or IPv6 literal, or a DNS host name
//! of RFC 1123 labels. Parsed once where it enters, so a value that reaches `ssh`, `ansible`
//! or a compute driver can never be read as an option, hold a space or a control character,
//! or be a bare number.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest DNS name (RFC 1035: 253 characters written out).
pub const MAX_HOST_NAME_LEN: usize = 253;
/// The longest DNS label.
pub const MAX_LABEL_LEN: usize = 63;

/// A validated host address; its text is the address as given (IPv6 without brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostAddress(String);

/// Why a text is not a host address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostAddressError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_HOST_NAME_LEN} characters")]
    TooLong,
    #[error("`{0}` is not an IP address or a host name (letters, digits, `-` and `.`; no label starts or ends with `-`; the last label is not a number)")]
    Invalid(String),
}

impl HostAddress {
    /// Parses an address; surrounding spaces are not trimmed (the caller decides that).
    pub fn parse(text: &str) -> Result<Self, HostAddressError> {
        if text.is_empty() {
            return Err(HostAddressError::Empty);
        }
        if text.len() > MAX_HOST_NAME_LEN {
            return Err(HostAddressError::TooLong);
        }
        if text.parse::<IpAddr>().is_ok() || is_host_name(text) {
            Ok(HostAddress(text.to_string()))
        } else {
            Err(HostAddressError::Invalid(printable(text)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// RFC 1123 labels, with a last label that is not all digits (`0`, `10.0.0` and `1.2.3.4.5`
/// are mistyped addresses, not names). A trailing dot (a fully qualified name) is allowed.
fn is_host_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let last_is_number = labels
        .last()
        .is_some_and(|label| label.chars().all(|c| c.is_ascii_digit()));
    labels.iter().all(label_ok) && !last_is_number
}

/// The text for an error message, control characters escaped so the message stays one line.
fn printable(text: &str) -> String {
    text.chars().flat_map(char::escape_debug).collect()
}

impl FromStr for HostAddress {
    type Err = HostAddressError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        HostAddress::parse(text)
    }
}

impl fmt::Display for HostAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for HostAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for HostAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HostAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        HostAddress::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_and_host_names_are_addresses() {
        for good in [
            "10.0.0.1",
            "127.0.0.2",
            "::1",
            "fe80::1",
            "2001:db8::42",
            "web-01",
            "web-01.dc1.example.com",
            "db.example.com.",
            "localhost",
            "3com.net",
            "a.b9",
        ] {
            assert_eq!(
                HostAddress::parse(good).map(|h| h.0),
                Ok(good.into()),
                "{good}"
            );
        }
    }

    #[test]
    fn options_spaces_controls_and_numbers_are_not() {
        for bad in [
            "-oProxyCommand=sh -c 'touch marker'",
            "-p",
            "web-",
            "a..b",
            "a b",
            "a\nb",
            "a\0",
            "host;id",
            "$(id)",
            "`id`",
            "0",
            "10.0.0",
            "1.2.3.4.5",
            "999.1.1.1",
            "[::1]",
            "user@host",
            "host:22",
            "café.example",
        ] {
            assert!(HostAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(HostAddress::parse(""), Err(HostAddressError::Empty));
        let long = format!("{}.com", "a.".repeat(130));
        assert_eq!(HostAddress::parse(&long), Err(HostAddressError::TooLong));
    }

    #[test]
    fn the_error_keeps_control_characters_visible() {
        let err = HostAddress::parse("a\nb").expect_err("newline");
        assert!(err.to_string().starts_with("`a\\nb` is not"), "{err}");
    }

    #[test]
    fn deserializing_validates() {
        let ok: HostAddress = serde_json::from_str("\"10.1.2.3\"").expect("an address");
        assert_eq!(ok.as_str(), "10.1.2.3");
        assert!(serde_json::from_str::<HostAddress>("\"-x\"").is_err());
        assert!(serde_json::from_str::<HostAddress>("false").is_err());
    }
}
