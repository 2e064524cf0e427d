//! Pure pieces of execution, kept apart so they are unit-tested without a database:
//! the batch plan and `{{var}}` template filling.

/// Nodes per batch: floor(nodes × max_ratio / 100), capped by `max_num` (when > 0), at least 1.
pub fn batch_size(nodes: u64, max_ratio: u64, max_num: u64) -> u64 {
    let by_ratio = nodes.saturating_mul(max_ratio) / 100;
    let capped = if max_num > 0 {
        by_ratio.min(max_num)
    } else {
        by_ratio
    };
    capped.max(1)
}

/// How many batches `nodes` make at `size` per batch.
pub fn batch_count(nodes: u64, size: u64) -> u64 {
    nodes.div_ceil(size.max(1))
}

/// The batch (from 1) of the node at `index` (from 0), in creation order.
pub fn batch_of(index: u64, size: u64) -> u64 {
    index / size.max(1) + 1
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    #[error("placeholder `{{{{{0}}}}}` has no value")]
    Unfilled(String),
    #[error("placeholder opened at byte {0} is never closed")]
    Unclosed(usize),
    #[error("placeholder `{{{{{0}}}}}` has the unknown filter `{1}` (the one filter is `raw`)")]
    UnknownFilter(String, String),
    #[error("the value of placeholder `{{{{{0}}}}}` holds a NUL character")]
    Nul(String),
}

/// How a value is written where its placeholder stood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quoting {
    /// A shell command line or script (`shell`, `command`, `longscript`): the value becomes
    /// exactly one shell word, POSIX single-quoted unless it is [`plain`].
    Shell,
    /// An ansible module's free-form `key=value` arguments: the value is one quoted value of
    /// ansible's own splitter (single quotes, Python escapes) unless it is [`plain`].
    AnsibleKeyValue,
    /// Text no shell or splitter reads (a JSON field of an ansible module): as it is.
    Verbatim,
}

/// A piece of a template: its own text, or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    /// `{{ name }}`, or `{{ name | raw }}` (`raw`: inserted as it is, never quoted).
    Placeholder {
        name: &'a str,
        raw: bool,
    },
}

/// The pieces of `template`, in order.
pub fn segments(template: &str) -> Result<Vec<Segment<'_>>, FillError> {
    let mut out = Vec::new();
    let mut rest = template;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Segment::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or(FillError::Unclosed(consumed + open))?;
        let inside = &after[..close];
        let (name, raw) = match inside.split_once('|') {
            None => (inside.trim(), false),
            Some((name, filter)) if filter.trim() == "raw" => (name.trim(), true),
            Some((name, filter)) => {
                return Err(FillError::UnknownFilter(
                    name.trim().to_string(),
                    filter.trim().to_string(),
                ))
            }
        };
        out.push(Segment::Placeholder { name, raw });
        let used = open + 2 + close + 2;
        consumed += used;
        rest = &rest[used..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    Ok(out)
}

/// Whether `value` can stand as a word as it is: letters, digits and `-_./:@,+%` only (not
/// `=`: zsh expands a word that starts with it).
pub fn plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@,+%".contains(c))
}

/// `value` as one POSIX shell word: single quotes, a `'` inside written `'\''`.
pub fn shell_quote(value: &str) -> String {
    if plain(value) {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `value` as one value of ansible's `key=value` splitter: single quotes, with `\`, `'` and
/// control characters written as Python escapes (which ansible decodes).
pub fn ansible_quote(value: &str) -> String {
    if plain(value) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\'' => out.push_str(r"\'"),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Replaces every `{{ name }}` in `template` with `lookup(name)`, written as `quoting` says
/// (`{{ name | raw }}`: as it is); the first placeholder without a value fails the fill,
/// naming it (a command must never run half-filled).
pub fn fill(
    template: &str,
    quoting: Quoting,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, FillError> {
    let mut out = String::with_capacity(template.len());
    for segment in segments(template)? {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Placeholder { name, raw } => {
                let value = lookup(name).ok_or_else(|| FillError::Unfilled(name.to_string()))?;
                if value.contains('\0') {
                    return Err(FillError::Nul(name.to_string()));
                }
                match (raw, quoting) {
                    (true, _) | (false, Quoting::Verbatim) => out.push_str(&value),
                    (false, Quoting::Shell) => out.push_str(&shell_quote(&value)),
                    (false, Quoting::AnsibleKeyValue) => out.push_str(&ansible_quote(&value)),
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_size_is_the_ratio_of_the_nodes_rounded_down() {
        assert_eq!(batch_size(10, 20, 0), 2);
        assert_eq!(batch_size(10, 25, 0), 2);
        assert_eq!(batch_size(10, 100, 0), 10);
    }

    #[test]
    fn batch_size_is_capped_by_max_num() {
        assert_eq!(batch_size(1000, 50, 100), 100);
        assert_eq!(batch_size(10, 100, 3), 3);
    }

    #[test]
    fn batch_size_is_at_least_one() {
        assert_eq!(batch_size(3, 10, 0), 1);
        assert_eq!(batch_size(1, 1, 1), 1);
        assert_eq!(batch_size(0, 100, 5), 1);
    }

    #[test]
    fn batch_size_does_not_overflow_on_huge_counts() {
        assert_eq!(batch_size(u64::MAX, 100, 7), 7);
    }

    #[test]
    fn batches_cover_every_node_in_order() {
        assert_eq!(batch_count(10, 3), 4);
        assert_eq!(batch_count(9, 3), 3);
        let batches: Vec<u64> = (0..7).map(|i| batch_of(i, 3)).collect();
        assert_eq!(batches, vec![1, 1, 1, 2, 2, 2, 3]);
    }

    fn vars(name: &str) -> Option<String> {
        match name {
            "ip" => Some("10.0.0.1".into()),
            "word" => Some("hi".into()),
            "evil" => Some("a'b; touch /tmp/x $(id) `id` \"q\"\nnext".into()),
            "empty" => Some(String::new()),
            "nul" => Some("a\0b".into()),
            _ => None,
        }
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill(
                "echo {{word}} on {{ ip }}; echo {{word}}",
                Quoting::Shell,
                vars
            ),
            Ok("echo hi on 10.0.0.1; echo hi".to_string())
        );
        assert_eq!(
            fill("no placeholders", Quoting::Shell, vars),
            Ok("no placeholders".into())
        );
    }

    #[test]
    fn fill_names_the_unfilled_placeholder() {
        let err =
            fill("echo {{word}} {{port}}", Quoting::Shell, vars).expect_err("port has no value");
        assert_eq!(err, FillError::Unfilled("port".into()));
        assert_eq!(err.to_string(), "placeholder `{{port}}` has no value");
    }

    #[test]
    fn fill_refuses_an_unclosed_placeholder() {
        assert_eq!(
            fill("echo {{word", Quoting::Shell, vars),
            Err(FillError::Unclosed(5))
        );
    }

    #[test]
    fn shell_values_are_one_word_and_plain_ones_stay_as_they_are() {
        assert_eq!(
            fill("echo {{evil}}", Quoting::Shell, vars),
            Ok("echo 'a'\\''b; touch /tmp/x $(id) `id` \"q\"\nnext'".to_string())
        );
        assert_eq!(
            fill("echo {{ip}} > /tmp/{{word}}", Quoting::Shell, vars),
            Ok("echo 10.0.0.1 > /tmp/hi".to_string())
        );
        assert_eq!(
            fill("echo [{{empty}}]", Quoting::Shell, vars),
            Ok("echo ['']".into())
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("-_./:@,+%9"), "-_./:@,+%9");
        assert_eq!(shell_quote("=ls"), "'=ls'");
        assert_eq!(shell_quote("~"), "'~'");
    }

    #[test]
    fn raw_inserts_a_value_as_it_is() {
        assert_eq!(
            fill("{{ evil | raw }}", Quoting::Shell, vars),
            Ok("a'b; touch /tmp/x $(id) `id` \"q\"\nnext".to_string())
        );
        assert_eq!(
            fill("{{evil|raw}}", Quoting::AnsibleKeyValue, vars),
            fill("{{evil}}", Quoting::Verbatim, vars)
        );
        assert_eq!(
            fill("{{ word | upper }}", Quoting::Shell, vars),
            Err(FillError::UnknownFilter("word".into(), "upper".into()))
        );
    }

    #[test]
    fn ansible_values_are_quoted_for_its_key_value_splitter() {
        assert_eq!(
            fill("msg={{evil}} n={{ip}}", Quoting::AnsibleKeyValue, vars),
            Ok("msg='a\\'b; touch /tmp/x $(id) `id` \"q\"\\nnext' n=10.0.0.1".to_string())
        );
        assert_eq!(ansible_quote("a\\b\u{1b}"), "'a\\\\b\\u001b'");
    }

    #[test]
    fn a_nul_in_a_value_is_refused() {
        assert_eq!(
            fill("echo {{nul}}", Quoting::Verbatim, vars),
            Err(FillError::Nul("nul".into()))
        );
    }

    #[test]
    fn segments_split_text_and_placeholders() {
        assert_eq!(
            segments("a {{ x }}{{y|raw}} b"),
            Ok(vec![
                Segment::Text("a "),
                Segment::Placeholder {
                    name: "x",
                    raw: false
                },
                Segment::Placeholder {
                    name: "y",
                    raw: true
                },
                Segment::Text(" b"),
            ])
        );
    }
}
