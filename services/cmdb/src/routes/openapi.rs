//! `/openapi.json`: the OpenAPI 3.0.3 description of cmdb, built once from [`ROUTES`], one
//! row per route (method, path, right, parameters, answer). The tests below check that the
//! table and the routes `configure` serves are the same set, and that every `$ref` resolves.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::API;

/// Who may call a route (see proto-docs/cmdb.md, "Identity" and "Signing").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Right {
    /// A viewer's or a service's token, or any user's signature.
    Read,
    /// An operator's token (a service's for `dcp_*` CI types), or any user's signature.
    User,
    /// An admin's token, or an admin user's signature.
    Admin,
    /// No token, no signature (the document itself).
    Open,
}

/// One parameter: name, JSON type (`string`, `integer`, `number`, `boolean`, `array`,
/// `object`), required, description.
type ParamRow = (&'static str, &'static str, bool, &'static str);

/// One route: method, path under `/api/v0.1` (or absolute when it starts with `/openapi`),
/// right, summary, parameters, and the component schema of its answer.
struct Route {
    method: &'static str,
    path: &'static str,
    right: Right,
    summary: &'static str,
    params: &'static [ParamRow],
    answer: &'static str,
}

const RET_KEY: ParamRow = (
    "ret_key",
    "string",
    false,
    "attribute keys of the answer: name (default), id or alias",
);
const PAGE: ParamRow = ("page", "integer", false, "page number, from 1");

const ATTR_FIELDS: &[ParamRow] = &[
    ("attr_name", "string", false, "name (required to add)"),
    (
        "attr_alias",
        "string",
        false,
        "alias (defaults to the name)",
    ),
    (
        "value_type",
        "string",
        false,
        "text (default), int, float or date",
    ),
    (
        "is_choice",
        "boolean",
        false,
        "values must be one of choice_value",
    ),
    ("choice_value", "array", false, "the allowed values"),
    ("is_multivalue", "boolean", false, "holds a list of values"),
    ("is_uniq", "boolean", false, "no two CIs share a value"),
];

const TYPE_FIELDS: &[ParamRow] = &[
    ("type_name", "string", false, "name (required to add)"),
    ("type_alias", "string", false, "alias"),
    ("_id", "integer", false, "the unique attribute by id"),
    (
        "unique",
        "string",
        false,
        "the unique attribute by name or alias",
    ),
    ("icon_url", "string", false, "icon"),
    ("enabled", "boolean", false, "whether CIs may be written"),
];

const CI_WRITE: &[ParamRow] = &[
    ("ci_type", "string", true, "the CI type, by name or id"),
    (
        "_no_attribute_policy",
        "string",
        false,
        "ignore (default) or reject attributes the type does not have",
    ),
    (
        "no_attribute_policy",
        "string",
        false,
        "veops CMDB's name of _no_attribute_policy",
    ),
    (
        "exist_policy",
        "string",
        false,
        "POST only: reject (default) a CI of the type holding the unique value, need it (update it; 404 without), or replace (update it, else add)",
    ),
    (
        "ci_id",
        "integer",
        false,
        "PUT only: the CI by id (also `_id`) rather than by its unique value",
    ),
];

const SEARCH: &[ParamRow] = &[
    ("q", "string", false, "terms, comma-separated"),
    ("_type", "string", false, "CI types, `a` or `(a;b)`"),
    ("_id", "string", false, "CI ids, `1` or `(1;2)`"),
    (
        "fl",
        "string",
        false,
        "attributes of the answer, comma-separated",
    ),
    RET_KEY,
    (
        "count",
        "integer",
        false,
        "page size, 1..1000, default 25 (alias page_size)",
    ),
    PAGE,
    (
        "facet",
        "string",
        false,
        "attributes to count values of, over all matches",
    ),
    ("sort", "string", false, "attr, +attr or -attr"),
];

const RELATION_SEARCH: &[ParamRow] = &[
    ("root_id", "integer", true, "the CI to search under"),
    (
        "level",
        "string",
        false,
        "hops from the root: 1 (default) or several, comma-separated",
    ),
    (
        "reverse",
        "boolean",
        false,
        "walk to first CIs (parents) rather than second CIs",
    ),
    ("q", "string", false, "terms, comma-separated"),
    ("_type", "string", false, "CI types, `a` or `(a;b)`"),
    ("_id", "string", false, "CI ids, `1` or `(1;2)`"),
    (
        "fl",
        "string",
        false,
        "attributes of the answer, comma-separated",
    ),
    RET_KEY,
    (
        "count",
        "integer",
        false,
        "page size, 1..1000, default 25 (alias page_size)",
    ),
    PAGE,
    (
        "facet",
        "string",
        false,
        "attributes to count values of, over all matches",
    ),
    ("sort", "string", false, "attr, +attr or -attr"),
];

const VEOPS_TYPE_FIELDS: &[ParamRow] = &[
    ("name", "string", false, "name (required to add)"),
    ("alias", "string", false, "alias"),
    (
        "unique_key",
        "string",
        false,
        "the unique attribute by name, alias or id",
    ),
    ("unique_id", "integer", false, "the unique attribute by id"),
    ("icon", "string", false, "icon"),
    ("enabled", "boolean", false, "whether CIs may be written"),
];

const ROUTES: &[Route] = &[
    Route { method: "get", path: "/attributes", right: Right::Read, summary: "List attributes", params: &[("q", "string", false, "filter on name or alias")], answer: "AttributeList" },
    Route { method: "post", path: "/attributes", right: Right::Admin, summary: "Add an attribute", params: ATTR_FIELDS, answer: "AttrId" },
    Route { method: "get", path: "/attributes/citype/{type_id}", right: Right::Read, summary: "Attributes bound to a CI type", params: &[], answer: "TypeAttributes" },
    Route { method: "post", path: "/attributes/citype/{type_id}", right: Right::Admin, summary: "Bind attributes to a CI type", params: &[("attr_id", "string", true, "attribute ids, comma-separated"), ("is_required", "boolean", false, "CIs must give them")], answer: "AttrIds" },
    Route { method: "delete", path: "/attributes/citype/{type_id}", right: Right::Admin, summary: "Unbind attributes from a CI type", params: &[("attr_id", "string", true, "attribute ids, comma-separated")], answer: "AttrIds" },
    Route { method: "get", path: "/attributes/{key}", right: Right::Read, summary: "One attribute by name, alias or id", params: &[], answer: "AttributeOne" },
    Route { method: "put", path: "/attributes/{key}", right: Right::Admin, summary: "Update an attribute", params: ATTR_FIELDS, answer: "AttrId" },
    Route { method: "delete", path: "/attributes/{key}", right: Right::Admin, summary: "Delete an attribute", params: &[], answer: "Message" },
    Route { method: "get", path: "/citypes", right: Right::Read, summary: "List CI types", params: &[("type_name", "string", false, "filter on the name")], answer: "CiTypeList" },
    Route { method: "post", path: "/citypes", right: Right::Admin, summary: "Add a CI type", params: TYPE_FIELDS, answer: "TypeId" },
    Route { method: "get", path: "/citypes/query", right: Right::Read, summary: "One CI type by id, name or alias", params: &[("type", "string", true, "id, name or alias")], answer: "CiTypeOne" },
    Route { method: "get", path: "/citypes/enable/{type_id}", right: Right::Admin, summary: "Enable or disable a CI type", params: &[("enabled", "boolean", false, "default true")], answer: "TypeId" },
    Route { method: "post", path: "/citypes/enable/{type_id}", right: Right::Admin, summary: "Enable or disable a CI type", params: &[("enabled", "boolean", false, "default true")], answer: "TypeId" },
    Route { method: "put", path: "/citypes/{type_id}", right: Right::Admin, summary: "Update a CI type", params: TYPE_FIELDS, answer: "TypeId" },
    Route { method: "delete", path: "/citypes/{type_id}", right: Right::Admin, summary: "Delete a CI type without CIs", params: &[], answer: "Message" },
    Route { method: "get", path: "/cityperelations/types", right: Right::Read, summary: "Relation type names", params: &[], answer: "RelationTypes" },
    Route { method: "get", path: "/cityperelations/{id}/children", right: Right::Read, summary: "Child types of a CI type", params: &[], answer: "Children" },
    Route { method: "get", path: "/cityperelations/{id}/parents", right: Right::Read, summary: "Parent types of a CI type", params: &[], answer: "Parents" },
    Route { method: "post", path: "/cityperelations/{parent}/{child}", right: Right::Admin, summary: "Relate two CI types", params: &[("relation_type", "string", false, "default contain")], answer: "CtrId" },
    Route { method: "delete", path: "/cityperelations/{ctr_id}", right: Right::Admin, summary: "Delete a CI type relation", params: &[], answer: "Message" },
    Route { method: "get", path: "/ci_types", right: Right::Read, summary: "List CI types (veops CMDB's form)", params: &[("type_name", "string", false, "filter on the name")], answer: "VeopsCiTypeList" },
    Route { method: "post", path: "/ci_types", right: Right::Admin, summary: "Add a CI type (veops CMDB's fields)", params: VEOPS_TYPE_FIELDS, answer: "TypeId" },
    Route { method: "get", path: "/ci_types/{key}", right: Right::Read, summary: "One CI type by id, name or alias (veops CMDB's form)", params: &[], answer: "VeopsCiTypeList" },
    Route { method: "put", path: "/ci_types/{key}", right: Right::Admin, summary: "Update a CI type (veops CMDB's fields)", params: VEOPS_TYPE_FIELDS, answer: "TypeId" },
    Route { method: "delete", path: "/ci_types/{key}", right: Right::Admin, summary: "Delete a CI type without CIs", params: &[], answer: "TypeId" },
    Route { method: "get", path: "/ci/s", right: Right::Read, summary: "Search CIs (see proto-docs/cmdb.md, the search language)", params: SEARCH, answer: "SearchResult" },
    Route { method: "get", path: "/ci/type/{type_id}", right: Right::Read, summary: "CIs of a type, 25 a page", params: &[("fields", "string", false, "attributes of the answer, comma-separated"), RET_KEY, PAGE], answer: "CiPage" },
    Route { method: "post", path: "/ci/batch", right: Right::User, summary: "Add or update many CIs (JSON body), a result per row", params: &[("cis", "array", true, "rows: attribute objects; a row may carry ci_type, _no_attribute_policy and _id / ci_id"), ("ci_type", "string", false, "the type of rows that name none"), ("_no_attribute_policy", "string", false, "ignore (default) or reject, for rows that say nothing")], answer: "BatchResult" },
    Route { method: "post", path: "/ci", right: Right::User, summary: "Add a CI (any other parameter is an attribute)", params: CI_WRITE, answer: "CiId" },
    Route { method: "put", path: "/ci", right: Right::User, summary: "Update a CI (any other parameter is an attribute)", params: CI_WRITE, answer: "CiId" },
    Route { method: "get", path: "/ci/{ci_id}", right: Right::Read, summary: "One CI", params: &[], answer: "CiOne" },
    Route { method: "put", path: "/ci/{ci_id}", right: Right::User, summary: "Update a CI by id (any other parameter is an attribute)", params: &[("ci_type", "string", false, "the CI's type, by name or id (default: the CI's)"), ("_no_attribute_policy", "string", false, "ignore (default) or reject attributes the type does not have"), ("no_attribute_policy", "string", false, "veops CMDB's name of _no_attribute_policy")], answer: "CiId" },
    Route { method: "delete", path: "/ci/{ci_id}", right: Right::User, summary: "Delete a CI and its relations", params: &[], answer: "Message" },
    Route { method: "get", path: "/cirelations/types", right: Right::Read, summary: "Relation type names", params: &[], answer: "RelationTypes" },
    Route { method: "delete", path: "/cirelations/delete/{cr_id}", right: Right::User, summary: "Delete a CI relation", params: &[], answer: "Message" },
    Route { method: "get", path: "/cirelations/{id}/second_cis", right: Right::Read, summary: "CIs this CI relates to", params: &[], answer: "SecondCis" },
    Route { method: "get", path: "/cirelations/{id}/first_cis", right: Right::Read, summary: "CIs related to this CI", params: &[], answer: "FirstCis" },
    Route { method: "get", path: "/cirelations/{id}/graph", right: Right::Read, summary: "CIs within `depth` hops, with the relations between them", params: &[("depth", "integer", false, "hops, 1..5, default 1")], answer: "CiGraph" },
    Route { method: "post", path: "/cirelations/{first}/{second}", right: Right::User, summary: "Relate two CIs", params: &[("relation_type", "string", false, "default contain"), ("more", "integer", false, "a CI id kept with the relation")], answer: "CrId" },
    Route { method: "get", path: "/ci_relations/s", right: Right::Read, summary: "Search the CIs some levels of relations under a root (veops CMDB)", params: RELATION_SEARCH, answer: "SearchResult" },
    Route { method: "delete", path: "/ci_relations/{cr_id}", right: Right::User, summary: "Delete a CI relation (veops CMDB)", params: &[], answer: "Message" },
    Route { method: "post", path: "/ci_relations/{first}/{second}", right: Right::User, summary: "Relate two CIs; an existing relation answers its id (veops CMDB)", params: &[("relation_type", "string", false, "default: the CI types' relation's, else contain"), ("more", "integer", false, "a CI id kept with the relation")], answer: "CrId" },
    Route { method: "get", path: "/history/record", right: Right::Read, summary: "History records, newest first", params: &[PAGE, ("page_size", "integer", false, "default 25"), ("username", "string", false, "only this user's"), ("start", "string", false, "from this time"), ("end", "string", false, "until this time")], answer: "HistoryList" },
    Route { method: "get", path: "/history/{record_id}", right: Right::Read, summary: "One history record in detail", params: &[], answer: "HistoryDetail" },
    Route { method: "post", path: "/users", right: Right::Admin, summary: "Create a user with a new key and secret", params: &[("username", "string", true, "name"), ("is_admin", "boolean", false, "default false")], answer: "User" },
    Route { method: "get", path: "/users/{username}", right: Right::Admin, summary: "A user's key and secret", params: &[], answer: "User" },
    Route { method: "get", path: "/openapi.json", right: Right::Open, summary: "This document", params: &[], answer: "Document" },
];

/// The answers' schemas: name and the properties a client can count on, each always present
/// (answers may hold more; a CI holds its attributes under their keys). A type ending in `?`
/// may be `null` (an `Option` of the wire type, sent as `null` when absent).
const SCHEMAS: &[(&str, &[(&str, &str)])] = &[
    ("Message", &[("message", "string")]),
    ("Error", &[("message", "string")]),
    ("Document", &[("openapi", "string"), ("paths", "object")]),
    ("AttrId", &[("attr_id", "integer")]),
    ("AttrIds", &[("attributes", "array")]),
    ("TypeId", &[("type_id", "integer")]),
    ("CtrId", &[("ctr_id", "integer")]),
    ("CrId", &[("cr_id", "integer")]),
    ("CiId", &[("ci_id", "integer")]),
    (
        "Attribute",
        &[
            ("attr_id", "integer"),
            ("attr_name", "string"),
            ("attr_alias", "string"),
            ("value_type", "string"),
            ("is_choice", "boolean"),
            ("choice_value", "array"),
            ("is_multivalue", "boolean"),
            ("is_uniq", "boolean"),
        ],
    ),
    (
        "AttributeList",
        &[("numfound", "integer"), ("attributes", "array")],
    ),
    ("AttributeOne", &[("attribute", "object")]),
    (
        "TypeAttributes",
        &[("type_id", "integer"), ("attributes", "array")],
    ),
    (
        "CiTypeList",
        &[("numfound", "integer"), ("citypes", "array")],
    ),
    ("CiTypeOne", &[("citype", "object")]),
    (
        "VeopsCiTypeList",
        &[("numfound", "integer"), ("ci_types", "array")],
    ),
    (
        "VeopsCiType",
        &[
            ("id", "integer"),
            ("name", "string"),
            ("alias", "string"),
            ("unique_id", "integer"),
            ("unique_key", "string"),
            ("unique_name", "string"),
            ("enabled", "boolean"),
            ("icon", "string"),
        ],
    ),
    ("RelationTypes", &[("relation_types", "array")]),
    ("Children", &[("children", "array")]),
    ("Parents", &[("parents", "array")]),
    (
        "Ci",
        &[
            ("_id", "integer"),
            ("_type", "integer"),
            ("ci_type", "string"),
        ],
    ),
    ("CiOne", &[("ci_id", "integer"), ("ci", "object")]),
    (
        "CiPage",
        &[
            ("numfound", "integer"),
            ("type_id", "integer"),
            ("page", "integer"),
            ("cis", "array"),
        ],
    ),
    (
        "SearchResult",
        &[
            ("numfound", "integer"),
            ("total", "integer"),
            ("page", "integer"),
            ("counter", "object"),
            ("facet", "object"),
            ("result", "array"),
        ],
    ),
    (
        "SecondCis",
        &[("numfound", "integer"), ("second_cis", "array")],
    ),
    (
        "FirstCis",
        &[("numfound", "integer"), ("first_cis", "array")],
    ),
    (
        "CiRelation",
        &[
            ("cr_id", "integer"),
            ("first_ci_id", "integer"),
            ("second_ci_id", "integer"),
            ("relation_type", "string"),
            ("more", "integer?"),
        ],
    ),
    (
        "CiGraph",
        &[
            ("root", "integer"),
            ("depth", "integer"),
            ("numfound", "integer"),
            ("truncated", "boolean"),
            ("cis", "array"),
            ("relations", "array"),
        ],
    ),
    (
        "BatchRow",
        &[
            ("index", "integer"),
            ("action", "string"),
            ("ci_id", "integer?"),
            ("status", "integer"),
            ("message", "string?"),
        ],
    ),
    (
        "BatchResult",
        &[
            ("added", "integer"),
            ("updated", "integer"),
            ("failed", "integer"),
            ("results", "array"),
        ],
    ),
    (
        "HistoryList",
        &[
            ("username", "string"),
            ("start", "string"),
            ("end", "string"),
            ("page", "integer"),
            ("numfound", "integer"),
            ("records", "array"),
        ],
    ),
    (
        "HistoryDetail",
        &[
            ("record_id", "integer"),
            ("user", "integer"),
            ("username", "string"),
            ("timestamp", "string"),
            ("attr_history", "object"),
            ("rel_history", "object"),
        ],
    ),
    (
        "User",
        &[
            ("user_id", "integer"),
            ("username", "string"),
            ("api_key", "string"),
            ("secret", "string"),
            ("is_admin", "boolean"),
        ],
    ),
];

/// The item schema of array properties that have one.
const ITEMS: &[(&str, &str, &str)] = &[
    ("AttributeList", "attributes", "Attribute"),
    ("VeopsCiTypeList", "ci_types", "VeopsCiType"),
    ("CiPage", "cis", "Ci"),
    ("SearchResult", "result", "Ci"),
    ("SecondCis", "second_cis", "Ci"),
    ("FirstCis", "first_cis", "Ci"),
    ("CiGraph", "cis", "Ci"),
    ("CiGraph", "relations", "CiRelation"),
    ("BatchResult", "results", "BatchRow"),
];

/// The values of text properties that take one of a few.
const ENUMS: &[(&str, &str, &[&str])] = &[
    ("BatchRow", "action", &["add", "update", "error"]),
    ("Attribute", "value_type", &["text", "int", "float", "date"]),
];

pub async fn spec() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// The document, computed on first use.
fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

/// The full path of a route as served.
fn full_path(route: &Route) -> String {
    if route.path.starts_with("/openapi") {
        route.path.to_string()
    } else {
        format!("{API}{}", route.path)
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(route: &Route) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect();
    let right = match route.right {
        Right::Read => {
            "read: a bearer token with the role viewer or service, or signed by any user"
        }
        Right::User => {
            "write: a bearer token with the role operator (or service, for CIs of `dcp_*` \
             types only), or signed by any user"
        }
        Right::Admin => "admin: a bearer token with the role admin, or signed by an admin user",
        Right::Open => "open: no token, no signature",
    };
    let mut op = json!({
        "summary": route.summary,
        "description": format!("Right: {right}."),
        "responses": {
            "200": {"description": "done", "content": {"application/json": {"schema": reference(route.answer)}}},
            "default": {"description": "400 bad argument or already exists, 401 neither a valid token nor a valid signature, 403 not allowed, 404 not found, 500 the service failed", "content": {"application/json": {"schema": reference("Error")}}},
        },
    });
    let fields: Vec<(&str, Value)> = route
        .params
        .iter()
        .map(|(name, ty, required, description)| {
            let schema = if *ty == "array" {
                json!({"type": "array", "items": {}, "description": description})
            } else {
                json!({"type": ty, "description": description})
            };
            (*name, json!({"schema": schema, "required": required}))
        })
        .collect();
    if route.right != Right::Open {
        for (name, what) in [
            ("_key", "the caller's api key"),
            ("_secret", "the signature (proto-docs/cmdb.md, Signing)"),
            ("_ts", "unix seconds, signed, for replay protection"),
        ] {
            parameters
                .push(json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}, "description": what}));
        }
    }
    if matches!(route.method, "get" | "delete") {
        for (name, field) in fields {
            parameters.push(json!({
                "name": name,
                "in": "query",
                "required": field["required"],
                "schema": field["schema"],
            }));
        }
    } else {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for (name, field) in fields {
            properties.insert(name.to_string(), field["schema"].clone());
            if field["required"] == json!(true) {
                required.push(Value::from(name));
            }
        }
        let body = json!({"type": "object", "properties": properties, "required": required, "additionalProperties": true});
        op["requestBody"] = json!({
            "content": {
                "application/json": {"schema": body},
                "application/x-www-form-urlencoded": {"schema": body},
            }
        });
    }
    op["parameters"] = Value::Array(parameters);
    op
}

fn build() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(full_path(route))
            .or_insert_with(|| Value::Object(Map::new()));
        item[route.method] = operation(route);
    }
    let mut schemas = Map::new();
    for (name, properties) in SCHEMAS {
        let mut props = Map::new();
        for (prop, ty) in *properties {
            let item = ITEMS
                .iter()
                .find(|(schema, p, _)| schema == name && p == prop)
                .map(|(_, _, item)| reference(item))
                .unwrap_or_else(|| json!({}));
            let (ty, nullable) = match ty.strip_suffix('?') {
                Some(ty) => (ty, true),
                None => (*ty, false),
            };
            let mut schema = if ty == "array" {
                json!({"type": "array", "items": item})
            } else {
                json!({"type": ty})
            };
            if nullable {
                schema["nullable"] = Value::Bool(true);
            }
            if let Some(values) = ENUMS
                .iter()
                .find(|(schema, p, _)| schema == name && p == prop)
                .map(|(_, _, values)| *values)
            {
                schema["enum"] = json!(values);
            }
            props.insert(prop.to_string(), schema);
        }
        let required: Vec<&str> = properties.iter().map(|(prop, _)| *prop).collect();
        schemas.insert(
            name.to_string(),
            json!({"type": "object", "properties": props, "required": required, "additionalProperties": true}),
        );
    }
    let info = kit::openapi::Info {
        service: crate::SERVICE,
        version: env!("CARGO_PKG_VERSION"),
        description: "The configuration-management database under /api/v0.1: attributes, CI \
                      types, CIs, relations, search, history, signed api keys. See \
                      proto-docs/cmdb.md.",
        tags: &[],
        readiness: "the database answers",
    };
    kit::openapi::document(&info, paths, schemas)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every (method, path) the route table serves.
    fn served() -> BTreeSet<(String, String)> {
        super::super::table()
            .specs()
            .flat_map(|spec| {
                spec.methods
                    .iter()
                    .map(|m| (m.as_str().to_ascii_lowercase(), spec.path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_route_is_described_and_nothing_else() {
        let described: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), full_path(r)))
            .collect();
        let served = served();
        assert!(served.len() > 30, "the source was read: {served:?}");
        assert_eq!(described, served);
        let doc = document();
        for (method, path) in &served {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is in the document"
            );
        }
    }

    #[test]
    fn every_ref_resolves() {
        let (unresolved, all) = kit::openapi::unresolved_references(document());
        assert!(all > 0, "the document has references");
        assert!(unresolved.is_empty(), "{unresolved:?} do not exist");
    }

    #[test]
    fn every_item_names_an_array_of_a_known_schema() {
        for (schema, prop, item) in ITEMS {
            let props = SCHEMAS
                .iter()
                .find(|(n, _)| n == schema)
                .map(|(_, p)| *p)
                .unwrap_or_default();
            assert!(
                props.contains(&(*prop, "array")),
                "{schema}.{prop} is an array"
            );
            assert!(SCHEMAS.iter().any(|(n, _)| n == item), "{item} exists");
        }
    }
}
