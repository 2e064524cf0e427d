//! Text that callers send: one check, used by every service, that names and free text carry
//! no control characters (NUL, ESC and the rest of C0 and C1), which would otherwise reach
//! logs, terminals and other systems' parsers unseen.

use crate::params::ParamsError;

/// What a text value may contain besides printable characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A name, key, label or address: one line, no control character at all.
    Line,
    /// Free text (a description, a script, a CI value): tab, line feed and carriage return
    /// are allowed; every other control character is refused.
    Multiline,
}

/// The first control character `value` may not hold, if any.
pub fn forbidden_char(value: &str, kind: TextKind) -> Option<char> {
    value.chars().find(|&c| {
        c.is_control() && !(kind == TextKind::Multiline && matches!(c, '\t' | '\n' | '\r'))
    })
}

/// Refuses `value` when it holds a control character, naming `field` and the character.
pub fn check(field: &str, value: &str, kind: TextKind) -> Result<(), ParamsError> {
    match forbidden_char(value, kind) {
        None => Ok(()),
        Some(c) => Err(ParamsError::invalid(
            field,
            format!("holds the control character U+{:04X}", u32::from(c)),
        )),
    }
}

/// [`check`] for a one-line name.
pub fn check_line(field: &str, value: &str) -> Result<(), ParamsError> {
    check(field, value, TextKind::Line)
}

/// [`check`] for free text.
pub fn check_multiline(field: &str, value: &str) -> Result<(), ParamsError> {
    check(field, value, TextKind::Multiline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_every_control_character() {
        for bad in [
            "a\0b",
            "a\u{1b}[31m",
            "a\nb",
            "a\tb",
            "a\u{7f}",
            "a\u{85}",
            "a\u{9b}",
        ] {
            assert!(check_line("name", bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_line("name", "web-01 中文 ü"), Ok(()));
    }

    #[test]
    fn free_text_keeps_lines_and_tabs_only() {
        assert_eq!(
            check_multiline("content", "#!/bin/sh\n\techo hi\r\n"),
            Ok(())
        );
        for bad in ["a\0b", "a\u{1b}b", "a\u{8}b", "a\u{9b}b"] {
            assert!(check_multiline("content", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_field_and_the_character() {
        let err = check_line("cluster", "x\u{1b}").expect_err("ESC");
        assert_eq!(
            err.to_string(),
            "invalid parameter `cluster`: holds the control character U+001B"
        );
    }
}
