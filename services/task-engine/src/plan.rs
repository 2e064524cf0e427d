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
}

/// Replaces every `{{ name }}` in `template` with `lookup(name)`; the first placeholder
/// without a value fails the fill, naming it (a command must never run half-filled).
pub fn fill(template: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, FillError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or(FillError::Unclosed(consumed + open))?;
        let name = after[..close].trim();
        let value = lookup(name).ok_or_else(|| FillError::Unfilled(name.to_string()))?;
        out.push_str(&value);
        let used = open + 2 + close + 2;
        consumed += used;
        rest = &rest[used..];
    }
    out.push_str(rest);
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
            _ => None,
        }
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill("echo {{word}} on {{ ip }}; echo {{word}}", vars),
            Ok("echo hi on 10.0.0.1; echo hi".to_string())
        );
        assert_eq!(fill("no placeholders", vars), Ok("no placeholders".into()));
    }

    #[test]
    fn fill_names_the_unfilled_placeholder() {
        let err = fill("echo {{word}} {{port}}", vars).expect_err("port has no value");
        assert_eq!(err, FillError::Unfilled("port".into()));
        assert_eq!(err.to_string(), "placeholder `{{port}}` has no value");
    }

    #[test]
    fn fill_refuses_an_unclosed_placeholder() {
        assert_eq!(fill("echo {{word", vars), Err(FillError::Unclosed(5)));
    }
}
