//! Api-key signing (the seed's scheme, made exact by the issue):
//! `_secret = hex(sha1(path + secret + values of every other parameter, by name))`.
//! `_key` and `_secret` themselves are left out; values are concatenated with no separator.
//! And who a request is ([`Actor`]): the holder of a bearer token or a cmdb user's signed key,
//! mapped onto the platform's roles.

use crate::error::Error;

use kit::auth::{Principal, Role};

/// The prefix of the CI types the platform itself keeps (`dcp_service`, `dcp_pool`,
/// `dcp_node`, ...): the only ones a caller holding just the `service` role may write CIs of.
pub const PLATFORM_TYPE_PREFIX: &str = "dcp_";

/// Who makes a request, as cmdb's history records it and its writes are limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The cmdb user of a signed api key; 0 for a bearer token's holder (not a cmdb user).
    pub user_id: i64,
    /// The verified subject: the cmdb username of a signed key, the `sub` of a token.
    pub username: String,
    /// Only CIs (and CI relations) of the platform's own types (`dcp_*`) may be written: a
    /// caller whose right to write comes from the `service` role alone.
    pub platform_types_only: bool,
}

impl Actor {
    /// The holder of a verified bearer token.
    pub fn of_token(principal: &Principal) -> Actor {
        Actor {
            user_id: 0,
            username: principal.subject.clone(),
            platform_types_only: !principal.has(Role::Operator),
        }
    }

    /// A cmdb user who signed with their api key.
    pub fn of_user(user_id: i64, username: String) -> Actor {
        Actor {
            user_id,
            username,
            platform_types_only: false,
        }
    }

    /// Whether this actor may write CIs of the type named `type_name`.
    pub fn may_write_type(&self, type_name: &str) -> Result<(), Error> {
        if self.platform_types_only && !type_name.starts_with(PLATFORM_TYPE_PREFIX) {
            return Err(Error::Forbidden(format!(
                "`{}` holds only the service role, which writes CIs of the platform's own \
                 types (`{PLATFORM_TYPE_PREFIX}*`), not of citype `{type_name}`",
                self.username
            )));
        }
        Ok(())
    }
}

/// The platform roles of a cmdb user signing with their api key: an admin user is `admin`,
/// any other user `operator` (cmdb's users either change the model or write CIs).
pub fn roles_of_user(is_admin: bool) -> Vec<Role> {
    if is_admin {
        vec![Role::Admin]
    } else {
        vec![Role::Operator]
    }
}

/// What a route needs, in cmdb's three rights; [`Access::decision`] is the platform's
/// decision the route table gives the same route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read: `viewer`, or `service` (the task-engine's `record_ci` / `remove_ci` read the
    /// platform's types and look CIs up before they write).
    Read,
    /// A write of CIs or CI relations: `operator`, or `service` (limited to `dcp_*` types).
    Write,
    /// A change of the model (attributes, CI types, type relations) or of users: `admin`.
    Admin,
}

impl Access {
    pub const fn decision(self) -> kit::access::Access {
        match self {
            Access::Read => kit::access::Access::AnyOf(&[Role::Viewer, Role::Service]),
            Access::Write => kit::access::Access::AnyOf(&[Role::Operator, Role::Service]),
            Access::Admin => kit::access::Access::Role(Role::Admin),
        }
    }
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
