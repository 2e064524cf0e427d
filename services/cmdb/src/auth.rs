//! Api-key signing (the seed's scheme, made exact by the issue):
//! `_secret = hex(sha1(path + secret + values of every other parameter, by name))`.
//! `_key` and `_secret` themselves are left out; values are concatenated with no separator.
//! And who a request is ([`Actor`]): the holder of a bearer token or a cmdb user's signed key,
//! mapped onto the platform's roles.

use serde_json::{Map, Value};

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

/// The raw JSON text of each top-level number of a JSON body, by parameter name: what the
/// client wrote, which `serde_json::Value` cannot keep for an integer beyond 64 bits (it
/// becomes a float) and may write differently for a float (`1e-7` for `1e-07`).
pub type RawNumbers = std::collections::HashMap<String, String>;

/// The top-level numbers of a JSON body as written (an unreadable body gives none: the
/// parameters were read from it already, so it is never unreadable here).
pub fn raw_numbers(body: &[u8]) -> RawNumbers {
    let fields: std::collections::HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_slice(body).unwrap_or_default();
    fields
        .into_iter()
        .map(|(name, raw)| (name, raw.get().trim().to_string()))
        .filter(|(_, text)| text.starts_with(|c: char| c == '-' || c.is_ascii_digit()))
        .collect()
}

/// How veops CMDB's documented Python client (`build_api_key`) writes a value into the
/// signed text: `str()` of what `json.loads` gives back on the server — strings as they
/// are, `True` / `False`, `None`, integers in all their digits, floats as Python's `repr`
/// (`1e-07`, `1e+16`, `100.0`). Lists and dicts are left out of the signature (`None`).
/// `raw` is the number as the JSON body wrote it, when it came in one.
pub fn python_text(value: &Value, raw: Option<&str>) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(true) => Some("True".into()),
        Value::Bool(false) => Some("False".into()),
        Value::Null => Some("None".into()),
        Value::Number(n) => Some(python_number(raw.unwrap_or(&n.to_string()))),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// `str()` of the number a JSON number text reads as in Python: an integer keeps its digits
/// (JSON allows no leading zeros or `+`; `-0` is `0`), a float is Python's `repr`.
pub fn python_number(text: &str) -> String {
    if text.contains(['.', 'e', 'E']) {
        python_float(text.parse::<f64>().unwrap_or(f64::NAN))
    } else if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

/// Python's `repr(float)`: the shortest digits that read back as the same float (nearest
/// the float, a tie to the even digit: what `serde_json` writes too, through `ryu`), in
/// positional notation when the decimal point falls between 10^-4 and 10^16, else as
/// `d.ddde±XX`; a whole number ends in `.0`.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let Some(shortest) = serde_json::Number::from_f64(x.abs()).map(|n| n.to_string()) else {
        return "nan".into();
    };
    let Some((digits, point)) = decimal_digits(&shortest) else {
        return format!("{sign}0.0");
    };
    let body = if !(-3..=16).contains(&point) {
        let rest = &digits[1..];
        let dot = if rest.is_empty() { "" } else { "." };
        let exp = point - 1;
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{}{dot}{rest}e{esign}{:02}", &digits[..1], exp.abs())
    } else if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point as usize;
        if point >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{body}")
}

/// The significant digits of an unsigned decimal text (`123.45`, `1e-7`, `1.5e16`) and where
/// its point falls: the value is 0.DIGITS x 10^point. `None` for zero.
fn decimal_digits(text: &str) -> Option<(String, i32)> {
    let (mantissa, exp) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    if digits.is_empty() {
        return None;
    }
    let point = i32::try_from(int.len()).ok()? - i32::try_from(lead).ok()? + exp;
    Some((digits, point))
}

/// The `_secret` veops CMDB's Python client computes (`build_api_key`): SHA-1 hex of the
/// path, the secret and [`python_text`] of every other parameter in the order of their
/// names, lists and dicts left out.
pub fn veops_signature(
    path: &str,
    secret: &str,
    params: &Map<String, Value>,
    raw: &RawNumbers,
) -> String {
    use sha1::{Digest, Sha1};
    let mut names: Vec<&String> = params
        .keys()
        .filter(|k| k.as_str() != "_key" && k.as_str() != "_secret")
        .collect();
    names.sort();
    let mut hasher = Sha1::new();
    hasher.update(path.as_bytes());
    hasher.update(secret.as_bytes());
    for name in names {
        let text = params
            .get(name)
            .and_then(|v| python_text(v, raw.get(name).map(String::as_str)));
        if let Some(text) = text {
            hasher.update(text.as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

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
    use serde_json::json;
    use sha1::{Digest, Sha1};

    #[test]
    // The ties below are written in full: that they are exact halves is the point.
    #[allow(clippy::excessive_precision)]
    fn floats_are_written_as_python_writes_them() {
        // Each pair: the float and Python 3's repr of it.
        for (x, python) in [
            (1e-7, "1e-07"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (100.0, "100.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (123456.789, "123456.789"),
            (1.2345678901234568e29, "1.2345678901234568e+29"),
            (2.5e-300, "2.5e-300"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            // Two shortest spellings read back alike: Python takes the nearer, a tie even.
            (111659285584252.125, "111659285584252.12"),
            (-1113178120592002.25, "-1113178120592002.2"),
        ] {
            assert_eq!(python_float(x), python, "{x:e}");
        }
    }

    #[test]
    fn values_are_signed_as_python_str_writes_them() {
        let text = |v: Value, raw: Option<&str>| python_text(&v, raw);
        assert_eq!(text(json!(true), None).as_deref(), Some("True"));
        assert_eq!(text(json!(false), None).as_deref(), Some("False"));
        assert_eq!(text(Value::Null, None).as_deref(), Some("None"));
        assert_eq!(text(json!(8), None).as_deref(), Some("8"));
        assert_eq!(text(json!("x y"), None).as_deref(), Some("x y"));
        assert_eq!(text(json!(["a"]), None), None);
        assert_eq!(text(json!({"a": 1}), None), None);
        // serde_json holds 2^70 as a float; the body's text keeps every digit.
        let big = "1180591620717411303424";
        assert_eq!(
            text(json!(1.1805916207174113e21), Some(big)).as_deref(),
            Some(big)
        );
        // A float as another writer spelled it is read, then written the Python way.
        assert_eq!(text(json!(1e-7), Some("1.0E-7")).as_deref(), Some("1e-07"));
        assert_eq!(text(json!(1e-7), None).as_deref(), Some("1e-07"));
        assert_eq!(python_number("-0"), "0");
    }

    #[test]
    fn raw_numbers_are_the_body_texts_of_top_level_numbers() {
        let raw = raw_numbers(
            br#"{"a": 1180591620717411303424, "b": 1e-07, "c": "1", "d": [1], "e": -2.50}"#,
        );
        assert_eq!(
            raw.get("a").map(String::as_str),
            Some("1180591620717411303424")
        );
        assert_eq!(raw.get("b").map(String::as_str), Some("1e-07"));
        assert_eq!(raw.get("e").map(String::as_str), Some("-2.50"));
        assert!(!raw.contains_key("c") && !raw.contains_key("d"));
        assert!(raw_numbers(b"not json").is_empty());
    }

    #[test]
    fn the_veops_signature_skips_lists_and_dicts() {
        let params = match json!({"b": true, "a": null, "l": [1, 2], "o": {"k": 1}, "n": 1e-7,
                                  "_key": "k", "_secret": "x"})
        {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        };
        // sha1(path + secret + str(None) + str(True) + str(1e-07)), sorted a, b, l, n, o.
        let mut hasher = Sha1::new();
        hasher.update(b"/api/v0.1/cis3cr3tNoneTrue1e-07");
        let expected = hex::encode(hasher.finalize());
        assert_eq!(
            veops_signature("/api/v0.1/ci", "s3cr3t", &params, &RawNumbers::new()),
            expected
        );
        assert_ne!(signature("/api/v0.1/ci", "s3cr3t", &params), expected);
    }

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
