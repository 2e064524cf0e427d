//! `/openapi.json`: the OpenAPI 3.0.3 description of the service, built once.
//!
//! Each route of [`super::ROUTES`] and [`super::EXTRA_ROUTES`] is described by one table
//! ([`describe`]): its parameters, its answer and the failures it can give. Both operations of
//! `/<route>/` are generated from that table — GET with the parameters in the query string,
//! POST with the same parameters as a form or JSON body — so the two cannot drift apart. The
//! tests below check the document against the routes and the wire types.

use kit::openapi::{self, reference, FunctionParam as Param};
use serde_json::{json, Map, Value};
use wire::soa_registry::{Status, CODE_FAILURE, CODE_SUCCESS, STATUS_UNPARSABLE};

use super::{EXTRA_ROUTES, ROUTES};
use crate::registry::MAX_NAME_LEN;

const TAG_READS: &str = "seed: reads";
const TAG_WRITES: &str = "seed: writes";
const TAG_BEYOND: &str = "beyond the seed";
/// What `validate_name` accepts (`.` and `..` are refused besides).
const NAME_PATTERN: &str = r"^[A-Za-z0-9._-]+$";

kit::served_openapi!(build);

fn build() -> Value {
    let mut paths = Map::new();
    let table = super::table();
    for name in ROUTES.iter().chain(EXTRA_ROUTES.iter()) {
        if let Some(route) = describe(name) {
            let path = format!("/{name}/");
            let reads = openapi::serves_get(&table, &path);
            paths.insert(path, path_item(name, &route, reads));
        }
    }
    let info = openapi::Info {
        service: crate::SERVICE,
        version: env!("CARGO_PKG_VERSION"),
        description: INFO,
        tags: &[
            (TAG_READS, "The seed's reads."),
            (
                TAG_WRITES,
                "The seed's writes; each is logged with the caller's subject (a token's, or the key's owner).",
            ),
            (TAG_BEYOND, "Routes the seed does not have."),
        ],
        readiness: "every zkidc's store answers (`reason` names those that do not)",
    };
    let schemas = schemas().as_object().cloned().unwrap_or_default();
    openapi::document(&info, paths, schemas)
}

const INFO: &str = "The service registry: services and their servers, kept as ServerSet znodes \
under `/soa/services` of the ZooKeeper ensemble (or embedded store) of each zkidc.\n\n\
Every route is `/<route>/`, also served without the trailing slash, for GET (parameters in the \
query string) and POST (the same parameters as an `application/x-www-form-urlencoded` or \
`application/json` body; query-string parameters are merged in, body keys win). `key` may also \
be spelt `keys`, as in the seed's examples. Unknown parameters are refused (400).\n\n\
Who is asking: `Authorization: Bearer <access token>` (the platform's tokens; reads need the \
viewer role, writes the operator role, `addservice`, `addserver`, `serverlist` and `delserver` \
also take a peer service's token on the zkidcs configured for it), or, without that header, \
the seed's `key`: its owner, with the operator role, on the zkidcs the key is valid for.\n\n\
A success is `{\"code\": 1, ...}` (HTTP 200); a failure is exactly `{\"code\": 0, \"reason\": \
\"...\"}` with an HTTP status that says the same thing: 400 bad or unknown parameter or zkidc, \
401 invalid token, 403 missing or invalid key or a role or zkidc not allowed, 404 no such service, server or route, 405 a method other than GET \
or POST, 409 conflict, 503 ZooKeeper unavailable, 500 anything else.";

// ---- one table per route ----

fn param(name: &'static str, required: bool, description: &'static str, schema: Value) -> Param {
    Param {
        name,
        required,
        description: description.into(),
        schema,
    }
}

/// Everything the document says about one route.
struct Route {
    tag: &'static str,
    summary: &'static str,
    description: &'static str,
    params: Vec<Param>,
    /// The schema of the 200 answer.
    result: Value,
    /// What is missing when it answers 404; `None` if it never does.
    not_found: Option<&'static str>,
    /// When it answers 409; `None` if it never does.
    conflict: Option<&'static str>,
}

/// The table of a route of [`ROUTES`] or [`EXTRA_ROUTES`]; `None` for a name it does not know
/// (a test checks that there is none).
fn describe(name: &str) -> Option<Route> {
    let route = match name {
        "servicelist" => Route {
            tag: TAG_READS,
            summary: "The services of a zkidc",
            description: "The children of `/soa/services`, sorted by name; none if the tree \
                          has no `/soa/services` yet. `destName` is accepted and ignored (the \
                          seed's example sends it). While ZooKeeper cannot be reached, the last \
                          services read, with `stale` and the headers `X-Dcp-Stale-Seconds` and \
                          `Age`.",
            params: vec![
                key(),
                zkidc(),
                param(
                    "destName",
                    false,
                    "Ignored.",
                    json!({"type": "string"}),
                ),
            ],
            result: reference("ServiceList"),
            not_found: None,
            conflict: None,
        },
        "addservice" => Route {
            tag: TAG_WRITES,
            summary: "Create a service (idempotent)",
            description: "Creates `/soa/services/<destName>` (and `/soa/services`). A service \
                          that exists already is a success.",
            params: vec![key(), zkidc(), dest_name()],
            result: reference("Done"),
            not_found: None,
            conflict: None,
        },
        "delservice" => Route {
            tag: TAG_WRITES,
            summary: "Delete a service (handle with care)",
            description: "A service with children is refused (409) unless `force=1`, which \
                          deletes its whole subtree first.",
            params: vec![
                key(),
                zkidc(),
                dest_name(),
                param(
                    "force",
                    false,
                    "Delete the service's servers too: 1/true/yes/on or 0/false/no/off.",
                    json!({"type": "string", "enum": ["1", "0", "true", "false", "yes", "no", "on", "off"], "default": "0"}),
                ),
            ],
            result: reference("Done"),
            not_found: Some("no such service"),
            conflict: Some("the service still has children and `force` is not set, or gained one while being deleted"),
        },
        "serverlist" => Route {
            tag: TAG_READS,
            summary: "The servers of a service",
            description: "Every `member_*` child, sorted by key, including members other \
                          ServerSet clients registered. A member whose data is not ServerSet \
                          JSON is listed with status `UNPARSABLE` and an `error`. While \
                          ZooKeeper cannot be reached, the service's last listing, with `stale` \
                          and the headers `X-Dcp-Stale-Seconds` and `Age`.",
            params: vec![key(), zkidc(), dest_name()],
            result: reference("ServerList"),
            not_found: Some("no such service"),
            conflict: None,
        },
        "addserver" => Route {
            tag: TAG_WRITES,
            summary: "Register a server (idempotent per host:port)",
            description: "Creates a persistent sequential `member_<10 digits>` with the \
                          ServerSet data of host:port, status ALIVE; a host:port already \
                          registered answers its existing key with `existed: true`.",
            params: vec![
                key(),
                zkidc(),
                dest_name(),
                param(
                    "serverHost",
                    true,
                    "An IPv4 or IPv6 address (no brackets), or a host name.",
                    json!({"type": "string", "maxLength": 253}),
                ),
                param(
                    "serverPort",
                    true,
                    "The server's port.",
                    json!({"type": "integer", "minimum": 1, "maximum": 65535}),
                ),
            ],
            result: reference("Done"),
            not_found: Some("no such service (create it with addservice/)"),
            conflict: None,
        },
        "delserver" => Route {
            tag: TAG_WRITES,
            summary: "Remove a server",
            description: "Deletes `/soa/services/<destName>/<serverKey>`.",
            params: vec![
                key(),
                zkidc(),
                dest_name(),
                param(
                    "serverKey",
                    true,
                    "The member's key as serverlist/ shows it (`member_0000000013`).",
                    name_schema(),
                ),
            ],
            result: reference("Done"),
            not_found: Some("no such service or server"),
            conflict: Some("`serverKey` names a node that has children (not a server)"),
        },
        "servicelist_all" => Route {
            tag: TAG_BEYOND,
            summary: "The services of every zkidc the key is valid for",
            description: "One entry per zkidc, sorted by name, asked concurrently. A zkidc \
                          that cannot answer (ZooKeeper unavailable) is an entry with `code` 0 \
                          and its `reason` (or, when its last services are known, code 1 with \
                          them and `stale`); the others still answer, and the whole answer is \
                          a success.",
            params: vec![key()],
            result: reference("ServiceListAll"),
            not_found: None,
            conflict: None,
        },
        _ => return None,
    };
    Some(route)
}

fn key() -> Param {
    param(
        "key",
        false,
        "An API key valid for the zkidc (also accepted as `keys`); required without an \
         `Authorization: Bearer` token, ignored with one.",
        json!({"type": "string"}),
    )
}

fn zkidc() -> Param {
    param(
        "zkidc",
        true,
        "A configured zkidc (`qa`, `yz`, `g1` in the default configuration).",
        json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
    )
}

fn dest_name() -> Param {
    param("destName", true, "The service's name.", name_schema())
}

fn name_schema() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": MAX_NAME_LEN, "pattern": NAME_PATTERN})
}

// ---- operations generated from a table ----

/// A route's operations: POST, and GET for the reads.
fn path_item(name: &str, route: &Route, answers_get: bool) -> Value {
    openapi::function_path_item(&openapi::FunctionRoute {
        name,
        tag: route.tag,
        summary: route.summary,
        description: route.description,
        params: &route.params,
        common_parameters: &[],
        responses: responses(route),
        answers_get,
    })
}

fn responses(route: &Route) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "Success: `code` 1.",
            "content": {"application/json": {"schema": route.result}},
        }),
    );
    responses.insert(
        "400".into(),
        failure("A parameter is missing, malformed or unknown, or the zkidc is unknown."),
    );
    responses.insert(
        "401".into(),
        failure("The bearer token is not valid (expired, not the issuer's, ...)."),
    );
    responses.insert(
        "403".into(),
        failure(
            "No key and no token, an unknown key, a key not valid for this zkidc, a token \
             without the role, or a service token on a zkidc not configured for it.",
        ),
    );
    if let Some(what) = route.not_found {
        responses.insert("404".into(), failure(&format!("Not found: {what}.")));
    }
    responses.insert(
        "405".into(),
        failure("A method the route does not answer (see `Allow`)."),
    );
    if let Some(what) = route.conflict {
        responses.insert("409".into(), failure(&format!("Conflict: {what}.")));
    }
    responses.insert(
        "503".into(),
        failure("The zkidc's ZooKeeper cannot be reached (`ZooKeeper unavailable ...`)."),
    );
    responses.insert("500".into(), failure("Anything else."));
    Value::Object(responses)
}

fn failure(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": reference("Failure")}},
    })
}

// ---- component schemas (the wire types of `wire::soa_registry`, and the listing's) ----

fn success_code() -> Value {
    json!({"type": "integer", "enum": [CODE_SUCCESS]})
}

fn schemas() -> Value {
    let statuses: Vec<&str> = Status::ALL
        .iter()
        .map(|s| s.as_str())
        .chain(std::iter::once(STATUS_UNPARSABLE))
        .collect();
    json!({
        "Failure": {
            "type": "object",
            "required": ["code", "reason"],
            "additionalProperties": false,
            "properties": {
                "code": {"type": "integer", "enum": [CODE_FAILURE]},
                "reason": {"type": "string", "description": "What is wrong."},
            },
        },
        "ServiceEntry": {
            "type": "object",
            "required": ["service"],
            "properties": {"service": {"type": "string"}},
        },
        "ServiceList": {
            "type": "object",
            "required": ["code", "services"],
            "properties": {
                "code": success_code(),
                "services": {"type": "array", "items": reference("ServiceEntry")},
                "stale": reference("Stale"),
            },
        },
        "Stale": {
            "type": "object",
            "description": "Only on an answer from the last view, kept while ZooKeeper cannot be reached.",
            "required": ["age_seconds", "reason"],
            "properties": {
                "age_seconds": {"type": "number", "description": "Seconds since the view was last known to be current (as the X-Dcp-Stale-Seconds header)."},
                "reason": {"type": "string", "description": "Why ZooKeeper could not answer."},
            },
        },
        "ServerEntry": {
            "type": "object",
            "required": ["host", "port", "key", "status"],
            "properties": {
                "host": {"type": "string", "description": "Empty when the data is unparsable."},
                "port": {"type": "integer", "minimum": 0, "maximum": 65535},
                "key": {"type": "string", "example": "member_0000000013"},
                "status": {"type": "string", "enum": statuses},
                "shard": {"type": "integer", "description": "Only when the member has one."},
                "error": {"type": "string", "description": "Only with status UNPARSABLE: why."},
            },
        },
        "ServerList": {
            "type": "object",
            "required": ["code", "servers"],
            "properties": {
                "code": success_code(),
                "servers": {"type": "array", "items": reference("ServerEntry")},
                "stale": reference("Stale"),
            },
        },
        "Done": {
            "type": "object",
            "required": ["code"],
            "properties": {
                "code": success_code(),
                "key": {"type": "string", "description": "addserver/ only: the member's key."},
                "existed": {"type": "boolean", "description": "addserver/ only: the host:port was registered already."},
            },
        },
        "ZkidcServices": {
            "type": "object",
            "required": ["zkidc", "code"],
            "properties": {
                "zkidc": {"type": "string"},
                "code": {"type": "integer", "enum": [CODE_SUCCESS, CODE_FAILURE]},
                "services": {
                    "type": "array",
                    "items": reference("ServiceEntry"),
                    "description": "With code 1.",
                },
                "reason": {"type": "string", "description": "With code 0: why this zkidc did not answer."},
                "stale": reference("Stale"),
            },
        },
        "ServiceListAll": {
            "type": "object",
            "required": ["code", "zkidcs"],
            "properties": {
                "code": success_code(),
                "zkidcs": {"type": "array", "items": reference("ZkidcServices")},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use wire::soa_registry as w;

    use super::*;

    fn properties(name: &str) -> BTreeSet<String> {
        let schema = openapi::component_schema(document(), name);
        assert!(schema["properties"].is_object(), "{name} has properties");
        openapi::property_names(schema)
    }

    #[test]
    fn every_route_is_described_for_the_methods_it_answers() {
        let spec = document();
        let table = super::super::table();
        assert_eq!(openapi::problems(spec, &table), Vec::<String>::new());
        for name in ROUTES.iter().chain(EXTRA_ROUTES.iter()) {
            assert!(describe(name).is_some(), "no table for {name}");
            let path = &spec["paths"][format!("/{name}/")];
            let reads = name.starts_with("servicelist") || *name == "serverlist";
            assert_eq!(
                path["get"].is_object(),
                reads,
                "/{name}/: GET only for reads"
            );
            for method in ["get", "post"].into_iter().filter(|m| path[*m].is_object()) {
                let op = &path[method];
                assert!(op.is_object(), "/{name}/ lacks {method}");
                for status in ["200", "400", "403", "503"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{name} {method}: no {status}"
                    );
                }
            }
        }
        for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
            assert!(spec["paths"][path]["get"].is_object(), "no GET {path}");
        }
        let described = spec["paths"].as_object().expect("paths").len();
        assert_eq!(described, ROUTES.len() + EXTRA_ROUTES.len() + 4);
    }

    #[test]
    fn every_ref_points_to_a_component_schema() {
        let (unresolved, all) = openapi::unresolved_references(document());
        assert!(all > 0, "the document has references");
        assert!(unresolved.is_empty(), "{unresolved:?} do not exist");
    }

    #[test]
    fn get_and_post_take_the_same_parameters() {
        for name in ROUTES.iter().chain(EXTRA_ROUTES.iter()) {
            let path = &document()["paths"][format!("/{name}/")];
            if !path["get"].is_object() {
                continue;
            }
            let query: BTreeSet<String> = path["get"]["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .map(|p| p["name"].as_str().unwrap_or_default().to_string())
                .collect();
            for media in ["application/x-www-form-urlencoded", "application/json"] {
                let body = &path["post"]["requestBody"]["content"][media]["schema"];
                let fields: BTreeSet<String> = body["properties"]
                    .as_object()
                    .expect("body properties")
                    .keys()
                    .cloned()
                    .collect();
                assert_eq!(fields, query, "{name} {media}");
            }
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut seen = BTreeSet::new();
        for item in document()["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("path item").values() {
                let id = op["operationId"].as_str().expect("operationId");
                assert!(seen.insert(id.to_string()), "duplicate operationId {id}");
            }
        }
    }

    /// Every field the wire types can send is described (the optional ones set, so that
    /// serde includes them).
    #[test]
    fn schemas_match_the_wire_types() {
        let entry = w::ServerEntry {
            host: String::new(),
            port: 0,
            key: String::new(),
            status: String::new(),
            shard: Some(1),
            error: Some(String::new()),
        };
        assert_eq!(openapi::field_names(&entry), properties("ServerEntry"));
        let done = w::Done {
            code: CODE_SUCCESS,
            key: Some(String::new()),
            existed: Some(true),
        };
        assert_eq!(openapi::field_names(&done), properties("Done"));
        let failure = w::Failure {
            code: CODE_FAILURE,
            reason: String::new(),
        };
        assert_eq!(openapi::field_names(&failure), properties("Failure"));
        let stale = w::Stale {
            age_seconds: 1.5,
            reason: String::new(),
        };
        assert_eq!(openapi::field_names(&stale), properties("Stale"));
        let list = w::ServiceList {
            code: CODE_SUCCESS,
            services: Vec::new(),
            stale: Some(stale.clone()),
        };
        assert_eq!(openapi::field_names(&list), properties("ServiceList"));
        let servers = w::ServerList {
            code: CODE_SUCCESS,
            servers: Vec::new(),
            stale: Some(stale.clone()),
        };
        assert_eq!(openapi::field_names(&servers), properties("ServerList"));
        let everywhere = super::super::ServiceListAll {
            code: CODE_SUCCESS,
            zkidcs: vec![super::super::ZkidcServices {
                zkidc: String::new(),
                code: CODE_SUCCESS,
                services: Some(Vec::new()),
                reason: Some(String::new()),
                stale: Some(stale),
            }],
        };
        assert_eq!(
            openapi::field_names(&everywhere),
            properties("ServiceListAll")
        );
        assert_eq!(
            openapi::field_names(&everywhere.zkidcs[0]),
            properties("ZkidcServices")
        );
    }
}
