//! Wire types of cmdb (`/api/v0.1/...`, see `proto-docs/cmdb.md`). Every error is
//! [`ErrorBody`]; success bodies are the seed's objects below.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

// ---- the api-key signature (the same computation on both ends of the wire) ----

/// A parameter's value as it enters the signature: strings as they are, numbers as JSON
/// writes them, booleans `true`/`false`, null as empty, lists and objects as compact JSON.
pub fn signed_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `_secret` of a request to `path` (with its `/api/v0.1` prefix, no query string): the
/// lower-case hex SHA-1 of the path, the user's secret and the values of every other
/// parameter (`_key` and `_secret` skipped) in the order of their names.
pub fn signature(path: &str, secret: &str, params: &Map<String, Value>) -> String {
    let mut names: Vec<&String> = params
        .keys()
        .filter(|k| k.as_str() != "_key" && k.as_str() != "_secret")
        .collect();
    // Byte order of UTF-8 is code-point order: what Python's sorted() gives for str.
    names.sort();
    let mut hasher = Sha1::new();
    hasher.update(path.as_bytes());
    hasher.update(secret.as_bytes());
    for name in names {
        if let Some(value) = params.get(name) {
            hasher.update(signed_text(value).as_bytes());
        }
    }
    hex::encode(hasher.finalize())
}

/// Every error answer: `{"message": "..."}` naming the offending argument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

/// `{"message": "..."}` of a successful delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub attr_id: i64,
    pub attr_name: String,
    pub attr_alias: String,
    /// `text`, `int`, `float` or `date`.
    pub value_type: String,
    pub is_choice: bool,
    pub choice_value: Vec<Value>,
    pub is_multivalue: bool,
    pub is_uniq: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeList {
    pub numfound: i64,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeOne {
    pub attribute: Attribute,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrId {
    pub attr_id: i64,
}

/// An attribute bound to a CI type, with whether CIs of the type must carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeAttribute {
    #[serde(flatten)]
    pub attribute: Attribute,
    pub is_required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeAttributes {
    pub type_id: i64,
    pub attributes: Vec<TypeAttribute>,
}

/// The attribute ids a bind or unbind touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrIds {
    pub attributes: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiType {
    pub type_id: i64,
    pub type_name: String,
    pub type_alias: String,
    /// The unique attribute as the seed's example for the route shows it: its name in the
    /// list (`/citypes`), its id elsewhere.
    pub uniq_key: Value,
    /// The unique attribute's id, on every route.
    pub unique_id: i64,
    /// The unique attribute's name, on every route.
    pub unique: String,
    pub enabled: bool,
    pub icon_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiTypeList {
    pub numfound: i64,
    pub citypes: Vec<CiType>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiTypeOne {
    pub citype: CiType,
}

/// A CI type as veops CMDB's `/ci_types` routes show it (the seed's `/citypes` keep
/// [`CiType`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VeopsCiType {
    pub id: i64,
    pub name: String,
    pub alias: String,
    pub unique_id: i64,
    /// The unique attribute's name (veops' list fills `unique_key` with it too).
    pub unique_key: String,
    pub unique_name: String,
    pub enabled: bool,
    pub icon: String,
}

/// `GET /ci_types` and `GET /ci_types/<id or name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VeopsCiTypeList {
    pub numfound: i64,
    pub ci_types: Vec<VeopsCiType>,
}

impl From<CiType> for VeopsCiType {
    fn from(t: CiType) -> Self {
        VeopsCiType {
            id: t.type_id,
            name: t.type_name,
            alias: t.type_alias,
            unique_id: t.unique_id,
            unique_key: t.unique.clone(),
            unique_name: t.unique,
            enabled: t.enabled,
            icon: t.icon_url,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeId {
    pub type_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationTypes {
    pub relation_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiTypeChild {
    pub ctr_id: i64,
    pub relation_type: String,
    #[serde(flatten)]
    pub citype: CiType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Children {
    pub children: Vec<CiTypeChild>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiTypeParent {
    pub parent: i64,
    pub ctr_id: i64,
    pub relation_type: String,
    /// The seed's spelling, sent as well.
    pub relaltion_type: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parents {
    pub parents: Vec<CiTypeParent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CtrId {
    pub ctr_id: i64,
}

/// A CI as the seed returns it: `_id`, `_type`, `ci_type`, `_unique`, and one key per
/// attribute (by name, id or alias as `ret_key` asks; multi-valued ones as arrays).
pub type Ci = Map<String, Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiPage {
    pub numfound: i64,
    pub type_id: i64,
    pub page: i64,
    pub cis: Vec<Ci>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiOne {
    pub ci_id: i64,
    pub ci: Ci,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiId {
    pub ci_id: i64,
}

/// The outcome of one row of `POST /ci/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRow {
    /// The row's position in `cis`, from 0.
    pub index: i64,
    /// `add`, `update`, or `error`.
    pub action: String,
    /// The CI added or updated (absent on error).
    pub ci_id: Option<i64>,
    /// The HTTP status the row alone would have had (200 when written).
    pub status: u16,
    /// Why the row was refused (absent when written).
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub added: i64,
    pub updated: i64,
    pub failed: i64,
    pub results: Vec<BatchRow>,
}

/// One facet entry: `[value, count, attr]`.
pub type FacetEntry = (Value, i64, String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// Every match.
    pub numfound: i64,
    /// The CIs on this page.
    pub total: i64,
    pub page: i64,
    /// Matches per CI type name.
    pub counter: BTreeMap<String, i64>,
    pub facet: BTreeMap<String, Vec<FacetEntry>>,
    pub result: Vec<Ci>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: i64,
    pub username: String,
    pub api_key: String,
    pub secret: String,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondCis {
    pub numfound: i64,
    pub second_cis: Vec<Ci>,
}

/// One CI relation, as the relation graph lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiRelation {
    pub cr_id: i64,
    pub first_ci_id: i64,
    pub second_ci_id: i64,
    pub relation_type: String,
    pub more: Option<i64>,
}

/// `GET /cirelations/<id>/graph`: the CIs within `depth` hops of `root` (following relations
/// either way), each with `_depth`, and every relation between two of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiGraph {
    pub root: i64,
    pub depth: i64,
    pub numfound: i64,
    /// True when the graph was cut at the CI limit before `depth` was reached.
    pub truncated: bool,
    pub cis: Vec<Ci>,
    pub relations: Vec<CiRelation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstCis {
    pub numfound: i64,
    pub first_cis: Vec<Ci>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrId {
    pub cr_id: i64,
}

/// One change record in the list: which attributes it touched, and relation changes counted
/// per operation (`{"add": 1}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistorySummary {
    pub record_id: i64,
    /// The user's id (the seed's `user`).
    pub user: i64,
    pub username: String,
    pub timestamp: String,
    pub origin: Option<String>,
    pub reason: Option<String>,
    pub ticket_id: Option<String>,
    pub attr_history: Vec<String>,
    pub rel_history: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryList {
    pub username: String,
    pub start: String,
    pub end: String,
    pub page: i64,
    pub numfound: i64,
    pub records: Vec<HistorySummary>,
}

/// One attribute change: `operate_type` is `add`, `update` or `delete`; `old` / `new` are the
/// values as text (a multi-valued attribute's values as a JSON array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrChange {
    pub ci_id: i64,
    pub attr_id: i64,
    pub attr_name: String,
    pub operate_type: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One record in detail: attribute changes keyed by CI id, relation changes as
/// `[first_ci, relation_type, second_ci]` under `add` / `delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryDetail {
    pub record_id: i64,
    pub user: i64,
    pub username: String,
    pub timestamp: String,
    pub attr_history: BTreeMap<String, Vec<AttrChange>>,
    pub rel_history: BTreeMap<String, Vec<(i64, String, i64)>>,
}
