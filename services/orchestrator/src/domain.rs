//! The rules of orchestrator, without HTTP: field limits and IP lists.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::Value;

use crate::error::Error;

/// Longest name, type, biz or image accepted, in characters.
pub const MAX_TEXT: usize = 1024;
/// Longest description accepted, in characters.
pub const MAX_DESC: usize = 8192;
/// Most IPs one `add_nodes`, `remove_nodes` or `search_by_ip` may carry.
pub const MAX_IPS: usize = 1000;

/// `value` if it fits in `max` characters and holds no control character: names, types,
/// biz and images (up to [`MAX_TEXT`]) are one line; descriptions may hold line breaks.
pub fn text(name: &str, value: String, max: usize) -> Result<String, Error> {
    let kind = if max <= MAX_TEXT {
        kit::text::TextKind::Line
    } else {
        kit::text::TextKind::Multiline
    };
    kit::text::check(name, &value, kind)?;
    if value.chars().count() > max {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: longer than {max} characters"
        )));
    }
    Ok(value)
}

/// A positive id given as a parameter.
pub fn positive(name: &str, value: i64) -> Result<i64, Error> {
    if value <= 0 {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: must be a positive integer, not {value}"
        )));
    }
    Ok(value)
}

/// A template id: 0 = none.
pub fn non_negative(name: &str, value: i64) -> Result<i64, Error> {
    if value < 0 {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: must be 0 or a positive integer, not {value}"
        )));
    }
    Ok(value)
}

/// One IP, written the canonical way; the error names it.
pub fn ip(text: &str) -> Result<String, Error> {
    text.trim()
        .parse::<IpAddr>()
        .map(|a| a.to_string())
        .map_err(|_| Error::BadArgument(format!("invalid IP address `{text}`")))
}

/// The IPs of `nodes`: a JSON array of strings, a string holding one, or a comma-separated
/// string. At least one, at most [`MAX_IPS`], every one valid and none twice.
pub fn ip_list(name: &str, nodes: Option<Value>) -> Result<Vec<String>, Error> {
    let items: Vec<Value> = match nodes {
        None | Some(Value::Null) => {
            return Err(Error::BadArgument(format!("missing parameter `{name}`")))
        }
        Some(Value::Array(items)) => items,
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.starts_with('[') {
                match serde_json::from_str::<Value>(trimmed) {
                    Ok(Value::Array(items)) => items,
                    _ => {
                        return Err(Error::BadArgument(format!(
                            "invalid parameter `{name}`: not a JSON array of IPs"
                        )))
                    }
                }
            } else {
                trimmed
                    .split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| Value::String(p.trim().to_string()))
                    .collect()
            }
        }
        Some(_) => {
            return Err(Error::BadArgument(format!(
                "invalid parameter `{name}`: expected a list of IPs"
            )))
        }
    };
    if items.is_empty() {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: no IP given"
        )));
    }
    if items.len() > MAX_IPS {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: more than {MAX_IPS} IPs"
        )));
    }
    let mut seen = HashSet::new();
    let mut ips = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(s) = item else {
            return Err(Error::BadArgument(format!(
                "invalid IP address `{item}` in `{name}`"
            )));
        };
        let ip = ip(&s)?;
        if !seen.insert(ip.clone()) {
            return Err(Error::BadArgument(format!(
                "IP {ip} is given twice in `{name}`"
            )));
        }
        ips.push(ip);
    }
    Ok(ips)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ip_lists_come_in_three_shapes() {
        let want = vec!["10.0.0.1".to_string(), "10.0.0.2".to_string()];
        assert_eq!(
            ip_list("nodes", Some(json!(["10.0.0.1", "10.0.0.2"]))).unwrap(),
            want
        );
        assert_eq!(
            ip_list("nodes", Some(json!("[\"10.0.0.1\",\"10.0.0.2\"]"))).unwrap(),
            want
        );
        assert_eq!(
            ip_list("nodes", Some(json!("10.0.0.1, 10.0.0.2"))).unwrap(),
            want
        );
    }

    #[test]
    fn names_are_one_line_and_descriptions_hold_no_controls() {
        assert!(text("name", "web\nfarm".into(), MAX_TEXT).is_err());
        assert!(text("name", "web\u{1b}[2J".into(), MAX_TEXT).is_err());
        assert!(text("desc", "two\nlines".into(), MAX_DESC).is_ok());
        assert!(text("desc", "nul\0".into(), MAX_DESC).is_err());
    }

    #[test]
    fn bad_ips_are_named() {
        let e = ip_list("nodes", Some(json!(["10.0.0.1", "10.0.0.300"]))).unwrap_err();
        assert!(e.to_string().contains("10.0.0.300"), "{e}");
        assert!(ip_list("nodes", Some(json!(["10.0.0.1", "10.0.0.1"]))).is_err());
        assert!(ip_list("nodes", Some(json!([]))).is_err());
        assert!(ip_list("nodes", None).is_err());
        assert!(ip_list("nodes", Some(json!({"a": 1}))).is_err());
    }
}
