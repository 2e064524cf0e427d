//! Api-key signing (the seed's scheme, made exact by the issue):
//! `_secret = hex(sha1(path + secret + values of every other parameter, by name))`.
//! `_key` and `_secret` themselves are left out; values are concatenated with no separator.

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub is_admin: bool,
}

impl Caller {
    /// An unsigned read where reads are configured open.
    pub fn anonymous() -> Caller {
        Caller {
            user_id: 0,
            username: "anonymous".into(),
            is_admin: false,
        }
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read: signed unless reads are open.
    Read,
    /// A write of CIs or CI relations: any signed user.
    Write,
    /// A change of the model (attributes, CI types, type relations) or of users: an admin.
    Admin,
}

pub use wire::cmdb::{signature, signed_text};

/// The path with its `%XX` escapes decoded (invalid escapes and non-UTF-8 are kept as is).
/// Clients sign either the path as sent or its decoded form; both are accepted.
pub fn decoded_path(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| raw.to_string())
}

/// Compares in time independent of where the first difference is.
pub fn same_signature(expected: &str, given: &str) -> bool {
    let given = given.trim().to_ascii_lowercase();
    if expected.len() != given.len() {
        return false;
    }
    expected
        .bytes()
        .zip(given.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use sha1::{Digest, Sha1};

    #[test]
    fn signature_covers_path_secret_and_sorted_values() {
        let params = match json!({"b": "2", "a": 1, "_key": "k", "_secret": "x", "c": ""}) {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        };
        // sha1("/api/v0.1/ci" + "s3cr3t" + "1" + "2" + "")
        let mut hasher = Sha1::new();
        hasher.update(b"/api/v0.1/cis3cr3t12");
        let expected = hex::encode(hasher.finalize());
        assert_eq!(signature("/api/v0.1/ci", "s3cr3t", &params), expected);
        assert!(same_signature(&expected, &expected.to_uppercase()));
        assert!(!same_signature(&expected, "00"));
    }

    #[test]
    fn paths_decode_their_escapes() {
        assert_eq!(
            decoded_path("/api/v0.1/attributes/%E7%B3%BB"),
            "/api/v0.1/attributes/系"
        );
        assert_eq!(decoded_path("/a%2"), "/a%2");
        assert_eq!(decoded_path("/a%zz"), "/a%zz");
        assert_eq!(decoded_path("/plain"), "/plain");
    }
}
