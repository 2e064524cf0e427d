//! The search language of `GET /api/v0.1/ci/s` (`q`), parsed into clauses. Pure: resolving
//! attribute names and running the clauses is `service`'s job.
//!
//! `q` is terms separated by top-level commas. A term is `[-|~|-~]attr:value`,
//! `[-|~|-~]value` or `[-|~|-~](terms)`: no prefix ANDs the term with what precedes it, `-`
//! ORs it, `~` removes its matches, `-~` ORs what it does not match (veops CMDB's OR NOT);
//! parentheses around terms group them into one term.
//! A value is `v` (with `*` wildcards), `(a;b;...)` (IN), `[a _TO_ b]` (RANGE), or
//! `>v`, `>=v`, `<v`, `<=v` (COMPARISON).

/// How a term combines with the terms before it (left to right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    And,
    Or,
    Not,
    /// `-~`: OR the CIs the term does not match.
    OrNot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    /// Equal, or matching when the value holds `*` wildcards.
    Eq(String),
    In(Vec<String>),
    /// Inclusive bounds; `*` alone is an open end.
    Range(String, String),
    Cmp(CmpOp, String),
    /// `(terms)`: the terms inside, combined as a `q` of their own, as one term.
    Group(Vec<Term>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub join: Join,
    /// The attribute (name, id or alias), `_type`, `_id`, or none for a bare value or a
    /// group.
    pub field: Option<String>,
    pub pred: Pred,
    /// The term as written, for error messages.
    pub text: String,
}

/// A term that cannot be read; the message quotes it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid parameter `q`: bad term `{term}`: {reason}")]
pub struct ParseError {
    pub term: String,
    pub reason: String,
}

fn bad(term: &str, reason: &str) -> ParseError {
    ParseError {
        term: term.to_string(),
        reason: reason.to_string(),
    }
}

/// Splits `q` on the commas that are not inside `(...)` or `[...]`.
fn split_terms(q: &str) -> Result<Vec<&str>, ParseError> {
    let mut terms = Vec::new();
    let mut depth: i32 = 0;
    let mut start = 0;
    for (i, c) in q.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err(bad(q[start..=i].trim(), "closes a bracket it never opened"));
                }
            }
            ',' if depth == 0 => {
                terms.push(&q[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(bad(q[start..].trim(), "opens a bracket it never closes"));
    }
    terms.push(&q[start..]);
    Ok(terms)
}

pub fn parse(q: &str) -> Result<Vec<Term>, ParseError> {
    let mut out = Vec::new();
    for raw in split_terms(q)? {
        let text = raw.trim();
        // An empty term (a trailing or doubled comma) says nothing; skip it.
        if text.is_empty() {
            continue;
        }
        out.push(parse_term(text)?);
    }
    Ok(out)
}

/// The terms inside `(...)` when `rest` is one group: it opens with `(`, the bracket closes
/// at its end, and what is inside holds a `:` or `,` outside brackets (else it is a bare IN
/// list `(a;b)`).
fn group_inner(rest: &str) -> Option<&str> {
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0_i32;
    let mut separates = false;
    for c in inner.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                // The opening bracket closed before the end: `(a)-(b)` is no one group.
                if depth < 0 {
                    return None;
                }
            }
            ':' | ',' if depth == 0 => separates = true,
            _ => {}
        }
    }
    (depth == 0 && separates).then_some(inner)
}

fn parse_term(text: &str) -> Result<Term, ParseError> {
    let (join, rest) = if let Some(rest) = text.strip_prefix("-~") {
        (Join::OrNot, rest)
    } else if let Some(rest) = text.strip_prefix('-') {
        (Join::Or, rest)
    } else if let Some(rest) = text.strip_prefix('~') {
        (Join::Not, rest)
    } else {
        (Join::And, text)
    };
    let rest = rest.trim();
    if let Some(inner) = group_inner(rest) {
        let terms = parse(inner)?;
        if terms.is_empty() {
            return Err(bad(text, "an empty group `()`"));
        }
        return Ok(Term {
            join,
            field: None,
            pred: Pred::Group(terms),
            text: text.to_string(),
        });
    }
    // Attribute names cannot hold `:` or brackets, so the first `:` before any bracket ends
    // the name; a bare value may not start with a bracket.
    let colon = rest.find(':');
    let bracket = rest.find(['(', '[']);
    let (field, value) = match (colon, bracket) {
        (Some(c), b) if b.is_none_or(|b| c < b) => {
            let name = rest[..c].trim();
            if name.is_empty() {
                return Err(bad(text, "no attribute name before `:`"));
            }
            (Some(name.to_string()), rest[c + 1..].trim())
        }
        _ => (None, rest),
    };
    if value.is_empty() {
        return Err(bad(text, "no value"));
    }
    let pred = parse_value(text, value)?;
    if field.is_none() && !matches!(pred, Pred::Eq(_) | Pred::In(_)) {
        return Err(bad(
            text,
            "RANGE and comparisons need an attribute (attr:value)",
        ));
    }
    Ok(Term {
        join,
        field,
        pred,
        text: text.to_string(),
    })
}

fn parse_value(text: &str, value: &str) -> Result<Pred, ParseError> {
    if let Some(inner) = value.strip_prefix('(') {
        let inner = inner
            .strip_suffix(')')
            .ok_or_else(|| bad(text, "an IN list `(a;b)` must end with `)`"))?;
        let items: Vec<String> = inner.split(';').map(|s| s.trim().to_string()).collect();
        if items.iter().any(String::is_empty) {
            return Err(bad(text, "an IN list `(a;b)` has an empty member"));
        }
        return Ok(Pred::In(items));
    }
    if let Some(inner) = value.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| bad(text, "a RANGE `[a _TO_ b]` must end with `]`"))?;
        let parts: Vec<&str> = inner.split("_TO_").map(str::trim).collect();
        return match parts.as_slice() {
            [low, high] if !low.is_empty() && !high.is_empty() => {
                Ok(Pred::Range(low.to_string(), high.to_string()))
            }
            _ => Err(bad(
                text,
                "a RANGE must be `[low _TO_ high]` with both ends (`*` for open)",
            )),
        };
    }
    for (prefix, op) in [
        (">=", CmpOp::Ge),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        ("<", CmpOp::Lt),
    ] {
        if let Some(rest) = value.strip_prefix(prefix) {
            let rest = rest.trim();
            if rest.is_empty() {
                return Err(bad(text, "a comparison needs a value after the operator"));
            }
            return Ok(Pred::Cmp(op, rest.to_string()));
        }
    }
    if value.contains([')', ']', ';']) {
        return Err(bad(
            text,
            "stray `)`, `]` or `;` (IN is `(a;b)`, RANGE is `[a _TO_ b]`)",
        ));
    }
    Ok(Pred::Eq(value.to_string()))
}

/// Case-sensitive match of `value` against `pattern`, where `*` matches any run of characters.
pub fn glob_match(pattern: &str, value: &str) -> bool {
    // Bytes, not chars: `*` is one byte and UTF-8 never hides one inside another character,
    // so the answers are the same without decoding (this runs once per indexed value).
    let p = pattern.as_bytes();
    let v = value.as_bytes();
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// The SQL LIKE pattern of a `*` pattern, with `%`, `_` and `\` escaped by `\`.
pub fn like_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

/// The literal text before the first `*`: an index range narrows a prefix search.
pub fn literal_prefix(pattern: &str) -> &str {
    match pattern.find('*') {
        Some(i) => &pattern[..i],
        None => pattern,
    }
}

/// Every text starting with `prefix` sorts below this (U+10FFFF is the last code point and
/// sorts last byte-wise in UTF-8, which both backends compare by with binary collations).
pub fn prefix_upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(q: &str) -> Term {
        let mut terms = parse(q).expect("parses");
        assert_eq!(terms.len(), 1, "{q}");
        terms.remove(0)
    }

    #[test]
    fn attribute_value_is_an_and_term() {
        let t = one("hostname:cmdb*");
        assert_eq!(t.join, Join::And);
        assert_eq!(t.field.as_deref(), Some("hostname"));
        assert_eq!(t.pred, Pred::Eq("cmdb*".into()));
    }

    #[test]
    fn bare_value_has_no_field() {
        let t = one("web-01");
        assert_eq!(t.field, None);
        assert_eq!(t.pred, Pred::Eq("web-01".into()));
    }

    #[test]
    fn leading_dash_is_or_and_tilde_is_not() {
        let terms = parse("idc:A,-idc:B,~status:offline").expect("parses");
        let joins: Vec<Join> = terms.iter().map(|t| t.join).collect();
        assert_eq!(joins, vec![Join::And, Join::Or, Join::Not]);
        assert_eq!(terms[2].field.as_deref(), Some("status"));
    }

    #[test]
    fn dash_tilde_is_or_not() {
        let terms = parse("idc:A,-~status:offline").expect("parses");
        assert_eq!(terms[1].join, Join::OrNot);
        assert_eq!(terms[1].field.as_deref(), Some("status"));
        assert_eq!(terms[1].pred, Pred::Eq("offline".into()));
    }

    #[test]
    fn parentheses_group_terms_into_one() {
        let terms = parse("idc:A,(status:on,-cpu:>4),~(a:1,b:2),-(x:(1;2))").expect("parses");
        assert_eq!(terms.len(), 4);
        let Pred::Group(inner) = &terms[1].pred else {
            panic!("a group: {:?}", terms[1]);
        };
        assert_eq!(terms[1].join, Join::And);
        assert_eq!(inner.len(), 2);
        assert_eq!(inner[1].join, Join::Or);
        assert_eq!(inner[1].pred, Pred::Cmp(CmpOp::Gt, "4".into()));
        assert_eq!(terms[2].join, Join::Not);
        assert!(matches!(&terms[2].pred, Pred::Group(g) if g.len() == 2));
        // A group of one IN term; groups nest.
        assert!(
            matches!(&terms[3].pred, Pred::Group(g) if g[0].pred == Pred::In(vec!["1".into(), "2".into()]))
        );
        let nested = one("((a:1,-b:2),c:3)");
        assert!(matches!(&nested.pred, Pred::Group(g) if matches!(&g[0].pred, Pred::Group(_))));
        // Without `:` or `,` inside, parentheses are an IN list of bare values.
        assert_eq!(
            one("(web-1;web-2)").pred,
            Pred::In(vec!["web-1".into(), "web-2".into()])
        );
        assert_eq!(one("(web-1;web-2)").field, None);
    }

    #[test]
    fn in_list_splits_on_semicolons() {
        let t = one("hostname:(cmdb*;cmdb-web*)");
        assert_eq!(t.pred, Pred::In(vec!["cmdb*".into(), "cmdb-web*".into()]));
        // A comma inside the parentheses does not end the term.
        assert_eq!(parse("_type:(a;b),x:1").expect("parses").len(), 2);
    }

    #[test]
    fn range_splits_on_to() {
        let t = one("hostname:[cmdb* _TO_ cmdb-web*]");
        assert_eq!(t.pred, Pred::Range("cmdb*".into(), "cmdb-web*".into()));
    }

    #[test]
    fn comparisons_read_their_operator() {
        assert_eq!(one("cpu:>5").pred, Pred::Cmp(CmpOp::Gt, "5".into()));
        assert_eq!(one("cpu:>=5").pred, Pred::Cmp(CmpOp::Ge, "5".into()));
        assert_eq!(one("cpu:<5").pred, Pred::Cmp(CmpOp::Lt, "5".into()));
        assert_eq!(one("cpu:<=5").pred, Pred::Cmp(CmpOp::Le, "5".into()));
    }

    #[test]
    fn a_time_of_day_stays_in_the_value() {
        let t = one("created:>=2024-01-01 10:00:00");
        assert_eq!(t.field.as_deref(), Some("created"));
        assert_eq!(t.pred, Pred::Cmp(CmpOp::Ge, "2024-01-01 10:00:00".into()));
    }

    #[test]
    fn empty_terms_are_skipped() {
        assert_eq!(parse("a:1,,b:2,").expect("parses").len(), 2);
        assert!(parse("").expect("parses").is_empty());
    }

    #[test]
    fn bad_terms_are_named() {
        for (q, term) in [
            ("a:1,b:(x;y", "b:(x;y"),
            ("a:1,b:x)", "b:x)"),
            (":x", ":x"),
            ("a:", "a:"),
            ("a:(x;;y)", "a:(x;;y)"),
            ("a:[1 _TO_ ]", "a:[1 _TO_ ]"),
            ("a:[1 2]", "a:[1 2]"),
            ("a:>", "a:>"),
            ("[x _TO_ y]", "[x _TO_ y]"),
            ("-", "-"),
            ("(a:1,b:)", "b:"),
            ("(a:1,),c:(", "c:("),
        ] {
            let err = parse(q).expect_err(q);
            assert_eq!(err.term, term, "{q}");
            assert!(err.to_string().contains(term), "{err}");
        }
    }

    #[test]
    fn globs_match_case_sensitively() {
        assert!(glob_match("web-12*", "web-123"));
        assert!(glob_match("*eb*", "web"));
        assert!(glob_match("w*b-*3", "web-123"));
        assert!(!glob_match("Web*", "web-1"));
        assert!(!glob_match("web", "web-1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("机*器", "机房服务器"));
        assert!(!glob_match("机*器?", "机房服务器"));
    }

    #[test]
    fn like_patterns_escape_sql_wildcards() {
        assert_eq!(like_pattern("a_b%c*"), "a\\_b\\%c%");
        assert_eq!(literal_prefix("web-1*x*"), "web-1");
    }
}
