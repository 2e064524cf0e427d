//! The CI model's vocabulary: value types, typed values, and the catalog of attributes and
//! CI types that every operation resolves names against. No HTTP, no SQL.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use crate::error::Error;
use crate::store::{AttrRow, TypeRow};

pub const DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// Text values are stored in an indexed VARCHAR(512) on MySQL.
pub const TEXT_MAX_CHARS: usize = 512;
/// The relation type names of the seed's examples (CI relations and CI type relations alike).
pub const RELATION_TYPES: [&str; 4] = ["connect", "deploy", "install", "contain"];
pub const DEFAULT_RELATION_TYPE: &str = "contain";

/// A relation type (of CIs or of CI types) known to be one of [`RELATION_TYPES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationType(&'static str);

impl RelationType {
    /// The type given (trimmed), or [`DEFAULT_RELATION_TYPE`] when none is.
    pub fn parse(given: Option<&str>) -> Result<RelationType, Error> {
        let given = given.map(str::trim).filter(|k| !k.is_empty());
        let kind = given.unwrap_or(DEFAULT_RELATION_TYPE);
        RELATION_TYPES
            .iter()
            .find(|known| **known == kind)
            .map(|known| RelationType(known))
            .ok_or_else(|| {
                Error::BadArgument(format!(
                    "invalid parameter `relation_type`: `{kind}` is not one of {}",
                    RELATION_TYPES.join(", ")
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

pub fn format_date(at: &NaiveDateTime) -> String {
    at.format(DATE_FORMAT).to_string()
}

/// `YYYY-mm-dd HH:MM:SS`, `YYYY-mm-ddTHH:MM:SS`, or `YYYY-mm-dd` (midnight).
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    for format in [DATE_FORMAT, "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// True when `text` is a date without a time of day (search widens it to the whole day).
pub fn is_date_only(text: &str) -> bool {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Int,
    Float,
    Date,
}

impl ValueType {
    /// Every value type, each with its own value table.
    pub const ALL: [ValueType; 4] = [
        ValueType::Int,
        ValueType::Float,
        ValueType::Text,
        ValueType::Date,
    ];

    pub fn parse(text: &str) -> Option<ValueType> {
        match text {
            "text" => Some(ValueType::Text),
            "int" => Some(ValueType::Int),
            "float" => Some(ValueType::Float),
            "date" | "datetime" => Some(ValueType::Date),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Text => "text",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Date => "date",
        }
    }
}

/// How the store reads a value type back. The column holds only names the service wrote;
/// anything else reads as text, as it always has.
impl From<String> for ValueType {
    fn from(name: String) -> ValueType {
        ValueType::parse(&name).unwrap_or(ValueType::Text)
    }
}

/// One stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Int(i64),
    Float(f64),
    Text(String),
    Date(NaiveDateTime),
}

impl Typed {
    pub fn to_json(&self) -> Value {
        match self {
            Typed::Int(n) => Value::from(*n),
            Typed::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Typed::Text(s) => Value::String(s.clone()),
            Typed::Date(at) => Value::String(format_date(at)),
        }
    }

    /// The value as text: what uniqueness is checked on and what history shows.
    pub fn canonical(&self) -> String {
        match self {
            Typed::Int(n) => n.to_string(),
            Typed::Float(f) => f.to_string(),
            Typed::Text(s) => s.clone(),
            Typed::Date(at) => format_date(at),
        }
    }

    /// Parses `raw` for an attribute of type `vt`; the error says why, for the caller to
    /// prefix with the attribute's name.
    pub fn parse(vt: ValueType, raw: &str) -> Result<Typed, String> {
        match vt {
            ValueType::Text => {
                if raw.chars().count() > TEXT_MAX_CHARS {
                    Err(format!("longer than {TEXT_MAX_CHARS} characters"))
                } else {
                    Ok(Typed::Text(raw.to_string()))
                }
            }
            ValueType::Int => raw
                .trim()
                .parse::<i64>()
                .map(Typed::Int)
                .map_err(|_| format!("`{raw}` is not an integer")),
            ValueType::Float => match raw.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Typed::Float(f)),
                _ => Err(format!("`{raw}` is not a number")),
            },
            ValueType::Date => parse_datetime(raw).map(Typed::Date).ok_or_else(|| {
                format!("`{raw}` is not a date (YYYY-mm-dd or YYYY-mm-dd HH:MM:SS)")
            }),
        }
    }
}

/// What a history entry records was done: to an attribute's values (`add`, `update`,
/// `delete`) or to a relation (`add`, `delete`). Stored and shown as that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HistoryAction {
    Add,
    Update,
    Delete,
}

impl HistoryAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryAction::Add => "add",
            HistoryAction::Update => "update",
            HistoryAction::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<HistoryAction> {
        match text {
            "add" => Some(HistoryAction::Add),
            "update" => Some(HistoryAction::Update),
            "delete" => Some(HistoryAction::Delete),
            _ => None,
        }
    }
}

/// How the store reads an action back (a text it does not know is a broken row).
impl TryFrom<String> for HistoryAction {
    type Error = String;

    fn try_from(text: String) -> Result<HistoryAction, String> {
        HistoryAction::parse(&text).ok_or_else(|| format!("unknown history action `{text}`"))
    }
}

/// A JSON parameter as text: strings as they are, numbers and booleans written out.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// How CIs are keyed on the way out (`ret_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetKey {
    Name,
    Id,
    Alias,
}

impl RetKey {
    pub fn parse(text: Option<&str>) -> Result<RetKey, Error> {
        match text.map(str::trim) {
            None | Some("") | Some("name") => Ok(RetKey::Name),
            Some("id") => Ok(RetKey::Id),
            Some("alias") => Ok(RetKey::Alias),
            Some(other) => Err(Error::BadArgument(format!(
                "invalid parameter `ret_key`: `{other}` is not one of name, id, alias"
            ))),
        }
    }

    pub fn key(self, attr: &AttrRow) -> String {
        match self {
            RetKey::Name => attr.name.clone(),
            RetKey::Id => attr.id.to_string(),
            RetKey::Alias => attr.alias.clone(),
        }
    }
}

/// Every attribute and CI type, read once per operation: there are tens or hundreds of them,
/// and resolving "name, id or alias" in memory keeps the rules in one place.
pub struct Catalog {
    pub attrs: Vec<AttrRow>,
    pub types: Vec<TypeRow>,
}

impl Catalog {
    /// By id (all digits), else by name, else by alias.
    pub fn attr(&self, key: &str) -> Option<&AttrRow> {
        by_key(&self.attrs, key, |a| (a.id, &a.name, &a.alias))
    }

    pub fn attr_by_id(&self, id: i64) -> Option<&AttrRow> {
        self.attrs.iter().find(|a| a.id == id)
    }

    /// By id, else by name, else by alias.
    pub fn ci_type(&self, key: &str) -> Option<&TypeRow> {
        by_key(&self.types, key, |t| (t.id, &t.name, &t.alias))
    }

    pub fn type_by_id(&self, id: i64) -> Option<&TypeRow> {
        self.types.iter().find(|t| t.id == id)
    }
}

/// The item `key` names: by id when it is all digits, else by name, else by alias;
/// `names` gives an item's `(id, name, alias)`.
fn by_key<'a, T>(
    items: &'a [T],
    key: &str,
    names: impl Fn(&T) -> (i64, &str, &str),
) -> Option<&'a T> {
    let key = key.trim();
    if let Ok(id) = key.parse::<i64>() {
        return items.iter().find(|item| names(item).0 == id);
    }
    items
        .iter()
        .find(|item| names(item).1 == key)
        .or_else(|| items.iter().find(|item| names(item).2 == key))
}

/// Attribute names and aliases appear in `q`, so they may not hold its punctuation, may not
/// look like ids, and may not shadow the reserved keys of a CI (`_id`, `ci_type`, ...).
pub fn check_attr_name(param: &str, name: &str) -> Result<(), Error> {
    let bad = |reason: &str| {
        Err(Error::BadArgument(format!(
            "invalid parameter `{param}`: `{name}` {reason}"
        )))
    };
    if name.is_empty() {
        return Err(Error::BadArgument(format!("missing parameter `{param}`")));
    }
    if name.chars().count() > 128 {
        return bad("is longer than 128 characters");
    }
    if name.starts_with('_') || name.starts_with('-') || name.starts_with('~') {
        return bad("may not start with `_`, `-` or `~`");
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || ":,;()[]*<>=\"'".contains(c))
    {
        return bad("may not contain spaces or any of : , ; ( ) [ ] * < > = \" '");
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return bad("may not be all digits (it would read as an id)");
    }
    if name == "ci_type" || name == "ci_type_alias" {
        return bad("is a reserved key of a CI");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_with_and_without_time() {
        assert_eq!(
            parse_datetime("2024-01-02").map(|d| format_date(&d)),
            Some("2024-01-02 00:00:00".to_string())
        );
        assert_eq!(
            parse_datetime("2024-01-02 03:04:05").map(|d| format_date(&d)),
            Some("2024-01-02 03:04:05".to_string())
        );
        assert!(parse_datetime("yesterday").is_none());
    }

    #[test]
    fn values_parse_by_type() {
        assert_eq!(Typed::parse(ValueType::Int, " 42 "), Ok(Typed::Int(42)));
        assert!(Typed::parse(ValueType::Int, "4x").is_err());
        assert_eq!(Typed::parse(ValueType::Float, "1.5"), Ok(Typed::Float(1.5)));
        assert!(Typed::parse(ValueType::Float, "NaN").is_err());
        assert!(Typed::parse(ValueType::Text, &"x".repeat(513)).is_err());
    }

    #[test]
    fn attribute_names_keep_clear_of_the_query_grammar() {
        assert!(check_attr_name("attr_name", "cpu_core_num").is_ok());
        assert!(check_attr_name("attr_name", "机房").is_ok());
        for bad in ["", "_id", "a:b", "a,b", "12", "a b", "-x", "ci_type"] {
            assert!(check_attr_name("attr_name", bad).is_err(), "{bad}");
        }
    }
}

/// A hasher for integer keys (CI, attribute and type ids, which the database hands out, so
/// no one picks them to collide): FxHash's multiply-rotate, a few instructions a key where the
/// default SipHash takes dozens. The search index and its pages look ids up by the thousand.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const ID_HASH_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(ID_HASH_SEED);
    }
}

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by ids, hashed with [`IdHasher`].
pub type IdMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;
