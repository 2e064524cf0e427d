//! What every service's OpenAPI 3.0.3 document shares: its frame (version, info, tags), the
//! operations routes the kit serves (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`) with
//! their `Health` schema, and small schema builders. Each service describes its own routes.

use crate::routes::{Effect, RouteTable};
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

/// The tag of the operations routes.
pub const TAG_OPS: &str = "operations";

/// What a service says about itself in its document.
pub struct Info<'a> {
    /// e.g. `cmdb`; the title is `DCP <service>`.
    pub service: &'a str,
    pub version: &'a str,
    pub description: &'a str,
    /// The service's own tags, name and description, in display order.
    pub tags: &'a [(&'a str, &'a str)],
    /// What `/readyz` checks, e.g. "the inventory database answers".
    pub readiness: &'a str,
}

/// The whole document: the service's `paths` and `schemas`, plus the operations routes and
/// the `Health` schema they answer with.
pub fn document(
    info: &Info,
    mut paths: Map<String, Value>,
    mut schemas: Map<String, Value>,
) -> Value {
    for (path, item) in operations(info) {
        paths.insert(path.to_string(), item);
    }
    for (path, item) in paths.iter_mut() {
        let public = PUBLIC_PATHS.contains(&path.as_str());
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|item| item.values_mut())
        {
            secure(operation, public);
        }
    }
    schemas.insert("Health".into(), health_schema(info.service));
    let mut tags: Vec<Value> = info
        .tags
        .iter()
        .map(|(name, description)| json!({"name": name, "description": description}))
        .collect();
    tags.push(
        json!({"name": TAG_OPS, "description": "Health, readiness, metrics and this document."}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("DCP {}", info.service),
            "version": info.version,
            "description": info.description,
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token of the platform's issuer (see proto-docs/identity.md).",
            }},
        },
        "security": [{"bearer": []}],
    })
}

/// The operations anyone may call without a token.
const PUBLIC_PATHS: [&str; 3] = ["/healthz", "/readyz", "/openapi.json"];

/// Marks an operation public (`security: []`), or documents the refusals of a token that is
/// missing, invalid or short of the route's role, and of an issuer that cannot be reached.
fn secure(operation: &mut Value, public: bool) {
    let Some(operation) = operation.as_object_mut() else {
        return;
    };
    // An operation the service marked public itself (`security: []`) is left as it is.
    if operation.get("security") == Some(&json!([])) {
        return;
    }
    if public {
        operation.insert("security".into(), json!([]));
        return;
    }
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, description) in [
        (
            "401",
            "No valid access token: missing, of another scheme, expired, or not the issuer's.",
        ),
        ("403", "The token's roles (or grants) do not allow this."),
        (
            "503",
            "Unavailable (the database, or the token issuer's keys).",
        ),
    ] {
        responses
            .entry(status)
            .or_insert_with(|| json!({"description": description}));
    }
}

/// `GET /openapi.json`.
pub fn respond(document: &Value) -> HttpResponse {
    HttpResponse::Ok().json(document)
}

fn operations(info: &Info) -> [(&'static str, Value); 4] {
    let health = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": reference("Health")}},
        })
    };
    [
        (
            "/healthz",
            json!({"get": {
                "operationId": "healthz",
                "tags": [TAG_OPS],
                "summary": "Liveness: the process answers",
                "responses": {"200": health("Alive: `status` is `ok`.")},
            }}),
        ),
        (
            "/readyz",
            json!({"get": {
                "operationId": "readyz",
                "tags": [TAG_OPS],
                "summary": format!("Readiness: {}", info.readiness),
                "responses": {
                    "200": health("Ready: `status` is `ready`."),
                    "503": health("Not ready: `status` is `unavailable`, `reason` says why."),
                },
            }}),
        ),
        (
            "/metrics",
            json!({"get": {
                "operationId": "metrics",
                "tags": [TAG_OPS],
                "summary": "Prometheus metrics (text exposition format 0.0.4)",
                "responses": {"200": {
                    "description": "The metrics.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }},
            }}),
        ),
        (
            "/openapi.json",
            json!({"get": {
                "operationId": "openapi",
                "tags": [TAG_OPS],
                "summary": "This document (OpenAPI 3.0.3)",
                "responses": {"200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }},
            }}),
        ),
    ]
}

fn health_schema(service: &str) -> Value {
    json!({
        "type": "object",
        "required": ["status", "service"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "ready", "unavailable"]},
            "service": {"type": "string", "example": service},
            "reason": {"type": "string", "description": "Why it is not ready (503 only)."},
        },
    })
}

/// `{"$ref": "#/components/schemas/<name>"}`.
pub fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub fn array_of(name: &str) -> Value {
    json!({"type": "array", "items": reference(name)})
}

/// An object whose every property is always present.
pub fn object(description: &str, properties: Vec<(&str, Value)>) -> Value {
    let required: Vec<&str> = properties.iter().map(|(name, _)| *name).collect();
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(name, schema)| (name.to_string(), schema))
        .collect();
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
    })
}

/// A request body given as a form or as JSON, with one schema.
pub fn form_or_json(schema: Value) -> Value {
    json!({
        "content": {
            "application/x-www-form-urlencoded": {"schema": schema},
            "application/json": {"schema": schema},
        }
    })
}

/// A parameter of a function-style route (resource-pool, soa-registry): the same name, schema
/// and flag in the query string and in the body.
pub struct FunctionParam {
    pub name: &'static str,
    pub required: bool,
    pub description: String,
    pub schema: Value,
}

impl FunctionParam {
    pub fn optional(name: &'static str, description: impl Into<String>, schema: Value) -> Self {
        FunctionParam {
            name,
            required: false,
            description: description.into(),
            schema,
        }
    }

    pub fn required(name: &'static str, description: impl Into<String>, schema: Value) -> Self {
        FunctionParam {
            required: true,
            ..FunctionParam::optional(name, description, schema)
        }
    }
}

/// What the document says about one function-style route: served for POST (the parameters as
/// a form or JSON body) and, for the reads, for GET (the same parameters in the query string),
/// so that the two operations cannot drift apart.
pub struct FunctionRoute<'a> {
    /// The operation ids are `<name>_get` and `<name>_post`.
    pub name: &'a str,
    pub tag: &'a str,
    pub summary: &'a str,
    /// Goes before what the operation says about where its parameters are; may be empty.
    pub description: &'a str,
    pub params: &'a [FunctionParam],
    /// Parameters of both operations besides the route's own (e.g. a header).
    pub common_parameters: &'a [Value],
    pub responses: Value,
    pub answers_get: bool,
}

/// Whether `table` serves GET at `path`.
pub fn serves_get(table: &RouteTable, path: &str) -> bool {
    table
        .specs()
        .any(|spec| spec.path == path && spec.methods.contains(&actix_web::http::Method::GET))
}

/// A function-style route's path item: POST, and GET when it answers GET.
pub fn function_path_item(route: &FunctionRoute) -> Value {
    let mut item = json!({"post": function_operation(route, false)});
    if route.answers_get {
        item["get"] = function_operation(route, true);
    }
    item
}

fn function_operation(route: &FunctionRoute, get: bool) -> Value {
    let (suffix, how) = if get {
        ("get", "Parameters in the query string.")
    } else {
        (
            "post",
            "Parameters in a form or JSON body; query-string parameters are merged in, \
             body keys win.",
        )
    };
    let description = if route.description.is_empty() {
        how.to_string()
    } else {
        format!("{}\n\n{how}", route.description)
    };
    let mut op = json!({
        "operationId": format!("{}_{suffix}", route.name),
        "tags": [route.tag],
        "summary": route.summary,
        "description": description,
        "responses": route.responses,
    });
    let mut parameters = route.common_parameters.to_vec();
    if get {
        parameters.extend(route.params.iter().map(query_parameter));
    } else {
        op["requestBody"] = function_request_body(route.params);
    }
    if get || !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    op
}

fn query_parameter(param: &FunctionParam) -> Value {
    json!({
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": param.description,
        "schema": param.schema,
    })
}

fn function_request_body(params: &[FunctionParam]) -> Value {
    let mut properties = Map::new();
    for param in params {
        let mut schema = param.schema.clone();
        schema["description"] = json!(param.description);
        properties.insert(param.name.to_string(), schema);
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    // OpenAPI 3.0 wants a non-empty `required`, or none.
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    let media = json!({"schema": schema});
    json!({
        "required": false,
        "content": {
            "application/x-www-form-urlencoded": media,
            "application/json": media,
        },
    })
}

/// A parameter of a seed-style route: name, required, description.
pub type Param = (&'static str, bool, &'static str);

/// The page parameters of a seed-style list.
pub const SEED_PAGE: [Param; 2] = [
    ("page", false, "from 1, default 1"),
    ("page_size", false, "1 to 1000, default 10"),
];
/// `/audit/list` (kit::audit): the trail of a service's writes.
pub const AUDIT_ROUTE: SeedRoute = (
    "/audit/list",
    "audit",
    "The trail of this service's writes, newest first: verified actor, relaying service, \
     route, its parameters, request id",
    &[
        ("actor", false, "only this verified subject's changes"),
        ("since", false, "UTC `YYYY-mm-dd HH:MM:SS` or `YYYY-mm-dd`"),
        ("until", false, "UTC `YYYY-mm-dd HH:MM:SS` or `YYYY-mm-dd`"),
        ("request_id", false, "only the changes of this X-Request-Id"),
        ("page", false, "from 1, default 1"),
        ("page_size", false, "1 to 1000, default 10"),
    ],
);

/// A seed-style route without parameters (beyond a path id).
pub const NO_PARAMS: [Param; 0] = [];

/// A route of the orchestration seed's style: path (`{id}` for a numeric path id, `{name}`
/// for a text one), tag, summary, parameters.
pub type SeedRoute = (&'static str, &'static str, &'static str, &'static [Param]);

/// The path parameters of a seed-style path: `{id}` a positive integer, any other `{name}`
/// a non-empty string (e.g. `{iplist}`, comma-separated IPs).
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let schema = if name == "id" {
                json!({"type": "integer", "minimum": 1})
            } else {
                json!({"type": "string", "minLength": 1})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

/// A seed-style answer: the envelope `{code, msg, data}` (`data` may be null).
fn seed_answer(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn seed_success() -> Value {
    json!({
        "type": "object",
        "required": ["code", "msg", "data"],
        "properties": {
            "code": {"type": "integer", "enum": [0]},
            "msg": {"type": "string"},
            "data": {"description": "the answer (any JSON value, null when there is none)"},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
            "query_count": {"type": "integer", "minimum": 0},
        },
    })
}

fn seed_failure() -> Value {
    json!({
        "type": "object",
        "required": ["code", "msg", "data"],
        "properties": {
            "code": {"type": "integer", "minimum": 400, "description": "the HTTP status"},
            "msg": {"type": "string", "minLength": 1, "description": "what was wrong"},
            "data": {"description": "an empty object, or null"},
        },
    })
}

/// The paths of seed-style routes (orchestrator, task-engine): each served for the methods its
/// entry in `table` answers, its parameters in the query string or as a JSON (or form) body,
/// answered with the envelope `{"code": 0, "msg": "success", "data": ...}` or the HTTP status
/// as `code`.
pub fn seed_paths(routes: &[SeedRoute], table: &RouteTable) -> Map<String, Value> {
    let mut paths = Map::new();
    for (path, tag, summary, params) in routes {
        let methods: Vec<String> = table
            .specs()
            .find(|spec| spec.path == *path)
            .map(|spec| {
                spec.methods
                    .iter()
                    .map(|m| m.as_str().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let mut parameters: Vec<Value> = path_parameters(path);
        let mut properties = Map::new();
        let mut required = Vec::new();
        for (name, needed, description) in params.iter() {
            parameters.push(json!({
                "name": name, "in": "query", "required": false,
                "description": description, "schema": {"type": "string"}
            }));
            properties.insert(name.to_string(), json!({"description": description}));
            if *needed {
                required.push(Value::String(name.to_string()));
            }
        }
        let operation = |method: &str| {
            let mut op = json!({
                "tags": [tag],
                "summary": summary,
                "operationId": format!("{method}{}", path.replace(['/', '{', '}'], "_")),
                "parameters": parameters,
                "responses": {
                    "200": seed_answer("`{\"code\": 0, \"msg\": \"success\", \"data\": ...}` (lists add `page`, `page_size`, `query_count`)", seed_success()),
                    "400": seed_answer("a bad parameter; `code` 400", seed_failure()),
                    "404": seed_answer("no such id; `code` 404", seed_failure()),
                    "409": seed_answer("a conflict (name taken, state); `code` 409", seed_failure())
                }
            });
            if method != "get" && !properties.is_empty() {
                let mut schema = json!({"type": "object", "properties": properties});
                // OpenAPI 3.0 wants a non-empty `required`, or none.
                if !required.is_empty() {
                    schema["required"] = Value::Array(required.clone());
                }
                op["requestBody"] = json!({
                    "description": "the same parameters as a JSON object or a form",
                    "content": {"application/json": {"schema": schema}}
                });
            }
            op
        };
        let operations: Map<String, Value> = methods
            .iter()
            .map(|method| (method.clone(), operation(method)))
            .collect();
        paths.insert(path.to_string(), Value::Object(operations));
    }
    paths
}

/// Where `document` and `table` disagree on the methods of a path both have (an operation
/// the route does not answer, a method the document leaves out); forwarded routes are
/// another service's to describe.
pub fn method_mismatches(document: &Value, table: &RouteTable) -> Vec<String> {
    let mut found = Vec::new();
    for spec in table.specs().filter(|s| s.effect != Effect::Forward) {
        let Some(operations) = document["paths"][&spec.path].as_object() else {
            continue;
        };
        let documented: Vec<String> = Some(operations)
            .map(|ops| {
                ops.keys()
                    .filter(|k| HTTP_METHODS.contains(&k.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let mut served: Vec<String> = spec
            .methods
            .iter()
            .map(|m| m.as_str().to_ascii_lowercase())
            .collect();
        let mut documented = documented;
        served.sort();
        documented.sort();
        if served != documented {
            found.push(format!(
                "{}: served {served:?}, documented {documented:?}",
                spec.path
            ));
        }
    }
    found
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A service's `GET /openapi.json` handler, `spec`, and `document()`, the document `build`
/// makes, computed on first use.
#[macro_export]
macro_rules! served_openapi {
    ($build:path) => {
        pub async fn spec() -> ::actix_web::HttpResponse {
            $crate::openapi::respond(document())
        }

        fn document() -> &'static ::serde_json::Value {
            static DOCUMENT: ::std::sync::OnceLock<::serde_json::Value> =
                ::std::sync::OnceLock::new();
            DOCUMENT.get_or_init($build)
        }
    };
}

/// The component schema `name` of `document` (null when there is none), for tests that hold
/// a schema against its wire type.
pub fn component_schema<'a>(document: &'a Value, name: &str) -> &'a Value {
    &document["components"]["schemas"][name]
}

/// The property names of `schema` (none when it has no properties).
pub fn property_names(schema: &Value) -> std::collections::BTreeSet<String> {
    schema["properties"]
        .as_object()
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// What is wrong with a service's `document` against its route `table`: an OpenAPI version
/// other than 3.0.3, and every [`method_mismatches`] row.
pub fn problems(document: &Value, table: &RouteTable) -> Vec<String> {
    let mut found = Vec::new();
    if document["openapi"] != "3.0.3" {
        found.push(format!("openapi is {}, not 3.0.3", document["openapi"]));
    }
    found.extend(method_mismatches(document, table));
    found
}

/// The field names `value` serializes with (none when it is not an object): the other half of
/// that comparison.
pub fn field_names<T: serde::Serialize>(value: &T) -> std::collections::BTreeSet<String> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => std::collections::BTreeSet::new(),
    }
}

/// Every `$ref` of `document` that does not name one of its component schemas (a document
/// whose tests assert this is empty cannot point a client at a missing type), and how many
/// `$ref`s it has in all.
pub fn unresolved_references(document: &Value) -> (Vec<String>, usize) {
    fn walk<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    match (key.as_str(), child) {
                        ("$ref", Value::String(target)) => found.push(target),
                        _ => walk(child, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(document, &mut found);
    let schemas = &document["components"]["schemas"];
    let unresolved = found
        .iter()
        .filter(|target| {
            target
                .strip_prefix("#/components/schemas/")
                .is_none_or(|name| schemas.get(name).is_none())
        })
        .map(|target| target.to_string())
        .collect();
    (unresolved, found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_has_the_service_routes_and_the_operations_routes() {
        let mut paths = Map::new();
        paths.insert("/api/thing".into(), json!({"post": {}}));
        let mut schemas = Map::new();
        schemas.insert(
            "Thing".into(),
            object("a thing", vec![("id", json!({"type": "integer"}))]),
        );
        let info = Info {
            service: "sample",
            version: "1.2.3",
            description: "a sample",
            tags: &[("seed", "the seed's routes")],
            readiness: "its database answers",
        };
        let doc = document(&info, paths, schemas);
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["title"], "DCP sample");
        assert!(doc["paths"]["/api/thing"]["post"].is_object());
        for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
        assert_eq!(
            doc["paths"]["/readyz"]["get"]["summary"],
            "Readiness: its database answers"
        );
        assert_eq!(
            doc["components"]["schemas"]["Thing"]["required"],
            json!(["id"])
        );
        assert!(doc["components"]["schemas"]["Health"].is_object());
        assert_eq!(doc["tags"][0]["name"], "seed");
        assert_eq!(doc["tags"][1]["name"], TAG_OPS);
        // /healthz once, /readyz twice (200 and 503): the Health schema.
        assert_eq!(unresolved_references(&doc), (Vec::new(), 3));
        let broken = json!({"paths": {"/x": {"$ref": "#/components/schemas/Missing"}}});
        assert_eq!(
            unresolved_references(&broken),
            (vec!["#/components/schemas/Missing".to_string()], 1)
        );
    }
    #[test]
    fn function_routes_take_the_same_parameters_by_get_and_post() {
        let params = [
            FunctionParam::required("ip", "The ip.", json!({"type": "string"})),
            FunctionParam::optional("port", "The port.", json!({"type": "integer"})),
        ];
        let header = json!({"name": "X-Request-Id", "in": "header"});
        let route = |answers_get, common_parameters| FunctionRoute {
            name: "get_thing",
            tag: "reads",
            summary: "One thing",
            description: "",
            params: &params,
            common_parameters,
            responses: json!({"200": {"description": "ok"}}),
            answers_get,
        };
        let item = function_path_item(&route(true, std::slice::from_ref(&header)));
        let get = &item["get"];
        assert_eq!(get["operationId"], "get_thing_get");
        assert_eq!(get["description"], "Parameters in the query string.");
        assert_eq!(get["parameters"][0], header);
        assert_eq!(get["parameters"][1]["name"], "ip");
        assert_eq!(get["parameters"][1]["required"], true);
        assert_eq!(get["parameters"][2]["schema"], json!({"type": "integer"}));
        let post = &item["post"];
        assert_eq!(post["operationId"], "get_thing_post");
        assert_eq!(post["parameters"], json!([header]));
        let body = &post["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["required"], json!(["ip"]));
        assert_eq!(
            body["properties"]["port"],
            json!({"type": "integer", "description": "The port."})
        );
        assert_eq!(
            post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"],
            *body
        );
        let post_only = function_path_item(&route(false, &[]));
        assert!(post_only["get"].is_null());
        assert!(post_only["post"]["parameters"].is_null());
    }

    #[test]
    fn seed_paths_declare_every_path_parameter_and_the_envelope() {
        const ROUTES: &[SeedRoute] = &[
            ("/pool/search_by_ip/{iplist}", "pools", "Search", &NO_PARAMS),
            ("/pool/{id}/list_nodes", "pools", "Nodes", &SEED_PAGE),
        ];
        async fn nothing() -> actix_web::HttpResponse {
            actix_web::HttpResponse::Ok().finish()
        }
        fn envelope(refusal: &crate::routes::Refusal) -> actix_web::HttpResponse {
            actix_web::HttpResponse::build(refusal.status()).finish()
        }
        let table = RouteTable::new(envelope)
            .read(
                "/pool/search_by_ip/{iplist}",
                crate::routes::GET_POST,
                nothing,
            )
            .read("/pool/{id}/list_nodes", crate::routes::GET_POST, nothing);
        let paths = seed_paths(ROUTES, &table);
        let search = &paths["/pool/search_by_ip/{iplist}"]["get"];
        assert_eq!(
            search["parameters"],
            json!([{"name": "iplist", "in": "path", "required": true,
                    "schema": {"type": "string", "minLength": 1}}])
        );
        let nodes = &paths["/pool/{id}/list_nodes"]["post"];
        assert_eq!(nodes["parameters"][0]["name"], "id");
        assert_eq!(nodes["parameters"][0]["schema"]["type"], "integer");
        for (status, code) in [
            ("200", json!({"type": "integer", "enum": [0]})),
            (
                "404",
                json!({"type": "integer", "minimum": 400, "description": "the HTTP status"}),
            ),
        ] {
            let schema = &nodes["responses"][status]["content"]["application/json"]["schema"];
            assert_eq!(
                schema["required"],
                json!(["code", "msg", "data"]),
                "{status}"
            );
            assert_eq!(schema["properties"]["code"], code, "{status}");
        }
    }
}
