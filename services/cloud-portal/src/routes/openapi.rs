//! `/openapi.json`: the OpenAPI 3.0.3 description of cloud-portal, built once.
//!
//! Each route of [`super::ROUTES`] is described by one table entry ([`describe`]): what it
//! does, its parameters and the keys of its answer. proto-docs/cloud-portal.md is the
//! reference in prose; this is the machine-readable index of the same routes.

use kit::openapi;
use serde_json::{json, Map, Value};

use super::ROUTES;

kit::served_openapi!(build);

/// A parameter: name, required, description.
type Param = (&'static str, bool, &'static str);

struct Doc {
    tag: &'static str,
    summary: &'static str,
    params: &'static [Param],
    /// The keys beside `code` and `desc` in a successful answer.
    answer: &'static str,
}

const SESSION: Param = ("session_key", true, "the 40-hex key from /api/login");
const INSTANCE_ID: Param = ("instance_id", true, "a positive integer");

fn describe(path: &str) -> Option<Doc> {
    let lifecycle = |summary| Doc {
        tag: "lifecycle",
        summary,
        params: &[SESSION, INSTANCE_ID],
        answer: "instance",
    };
    let admin_list = |summary, answer| Doc {
        tag: "administration (role admin)",
        summary,
        params: &[SESSION],
        answer,
    };
    Some(match path {
        "/api/login" => Doc {
            tag: "seed",
            summary: "Log in; answers `Welcome to LYC.` and a session key",
            params: &[
                ("username", true, "the user's name"),
                ("password", true, "in clear, at most 1024 bytes"),
            ],
            answer: "session_key",
        },
        "/api/logout" => Doc {
            tag: "seed",
            summary: "End the session",
            params: &[SESSION],
            answer: "",
        },
        "/api/instance/baseinfo" => Doc {
            tag: "seed",
            summary: "The VDI address of one of my instances",
            params: &[SESSION, INSTANCE_ID],
            answer: "instance_id, vdi_type (1 = SPICE), host, port (null: none)",
        },
        "/api/myun/instance" => Doc {
            tag: "seed",
            summary: "One page of my instances (deleted ones left out)",
            params: &[
                SESSION,
                ("sepa", false, "page size, 1 to 1000, default 10"),
                ("p", false, "page, from 1, default 1"),
            ],
            answer: "list: [{id, name, summary, status, status_string}]",
        },
        "/api/instance/create" => Doc {
            tag: "lifecycle",
            summary: "Create an instance (status 1) on a leased host slot",
            params: &[
                SESSION,
                ("image_id", true, "a positive integer"),
                ("name", true, "1 to 255 printable characters"),
                ("summary", false, "at most 1024 characters"),
            ],
            answer: "instance",
        },
        "/api/instance/query" => lifecycle("One of my instances"),
        "/api/instance/run" => lifecycle("Run: 1, 2 -> 3"),
        "/api/instance/stop" => lifecycle("Stop: 3, 4, 5, 9 -> 2"),
        "/api/instance/reboot" => lifecycle("Reboot: 3, 4, 5 -> 3"),
        "/api/instance/delete" => lifecycle("Delete: any but 100 -> 100; releases the host slot"),
        "/api/service/instance/create" => Doc {
            tag: "service API (role service or admin)",
            summary: "Create `count` running instances of an image, all or none",
            params: &[
                SESSION,
                (
                    "image",
                    false,
                    "the image's name (the pool's vm_type); or image_id",
                ),
                ("image_id", false, "the image's id; or image"),
                ("count", false, "1 to 100, default 1"),
                (
                    "name",
                    false,
                    "name of every new instance; default the image's name",
                ),
            ],
            answer: "instances: [instance]",
        },
        "/api/service/instance/return" => Doc {
            tag: "service API (role service or admin)",
            summary: "Delete instances and release their hosts, all or none",
            params: &[
                SESSION,
                ("instance_ids", true, "ids separated by commas, at most 100"),
            ],
            answer: "returned: [id]",
        },
        "/api/admin/user/add" => Doc {
            tag: "administration (role admin)",
            summary: "Add a user",
            params: &[
                SESSION,
                ("username", true, "1 to 64 of A-Z a-z 0-9 . _ - @"),
                ("password", true, "1 to 1024 bytes"),
                ("role", false, "user (default), admin or service"),
            ],
            answer: "user: {id, username, role}",
        },
        "/api/admin/user/list" => admin_list("Every user", "users: [user]"),
        "/api/admin/image/add" => Doc {
            tag: "administration (role admin)",
            summary: "Add an image",
            params: &[
                SESSION,
                ("name", true, "unique, 1 to 255 printable characters"),
                ("summary", false, "at most 1024 characters"),
            ],
            answer: "image: {id, name, summary}",
        },
        "/api/admin/image/list" => admin_list("Every image", "images: [image]"),
        "/api/admin/host/add" => Doc {
            tag: "administration (role admin)",
            summary: "Add a host to the host pool",
            params: &[
                SESSION,
                ("address", true, "an IP address or DNS name, unique"),
                ("ssh_port", false, "1 to 65535, default 22"),
                ("capacity", false, "slots, 1 to 10000, default 1"),
            ],
            answer: "host: {id, address, ssh_port, capacity, used}",
        },
        "/api/admin/host/list" => admin_list("Every host", "hosts: [host]"),
        "/api/admin/user/delete" => Doc {
            tag: "administration (role admin)",
            summary: "Remove a user who has no instance left (not oneself), and their sessions",
            params: &[SESSION, ("user_id", true, "a positive integer")],
            answer: "user: {id, username, role}",
        },
        "/api/admin/image/delete" => Doc {
            tag: "administration (role admin)",
            summary: "Remove an image that no instance uses",
            params: &[SESSION, ("image_id", true, "a positive integer")],
            answer: "image: {id, name, summary}",
        },
        "/api/admin/host/delete" => Doc {
            tag: "administration (role admin)",
            summary: "Remove a host of the pool with no leased slot",
            params: &[SESSION, ("host_id", true, "a positive integer")],
            answer: "host: {id, address, ssh_port, capacity, used}",
        },
        "/api/token/create" => Doc {
            tag: "API tokens",
            summary: "A named, long-lived token for scripts (shown once; kept as a SHA-256)",
            params: &[
                SESSION,
                ("name", true, "1 to 100 printable characters"),
                ("expires_days", false, "1 to 365, default 90"),
                ("roles", false, "comma-separated, no more than the caller holds; default all of them"),
            ],
            answer: "token, api_token: {id, name, owner, roles, created_ms, expires_ms, last_used_ms, revoked_ms, revoked_by}",
        },
        "/api/token/list" => Doc {
            tag: "API tokens",
            summary: "My API tokens (an admin's `all=1`: everyone's)",
            params: &[SESSION, ("all", false, "1: every owner's (admins)")],
            answer: "api_tokens: [api_token]",
        },
        "/api/token/revoke" => Doc {
            tag: "API tokens",
            summary: "Revoke an API token (its owner or an admin); every service refuses it within auth.revocation_poll_secs",
            params: &[SESSION, ("token_id", true, "a positive integer")],
            answer: "api_token",
        },
        "/api/admin/audit/list" => Doc {
            tag: "administration (role admin)",
            summary: "The trail of this service's writes, newest first: verified actor, relaying service, route, its parameters, request id",
            params: &[
                SESSION,
                ("actor", false, "only this verified subject's changes"),
                ("since", false, "UTC `YYYY-mm-dd HH:MM:SS` or `YYYY-mm-dd`"),
                ("until", false, "UTC `YYYY-mm-dd HH:MM:SS` or `YYYY-mm-dd`"),
                ("request_id", false, "only the changes of this X-Request-Id"),
                ("sepa", false, "entries per page, default 10"),
                ("p", false, "the page, from 1"),
            ],
            answer: "changes: [{id, at, actor, via, action, entity, target, request_id}], total",
        },
        "/api/admin/grant/add" => Doc {
            tag: "administration (role admin)",
            summary: "Grant a user a role on one cluster; their next token carries it",
            params: &[
                SESSION,
                ("username", true, "an existing user's name"),
                ("role", true, "viewer or operator"),
                ("cluster_id", true, "the cluster, a positive integer"),
            ],
            answer: GRANT,
        },
        "/api/admin/grant/delete" => Doc {
            tag: "administration (role admin)",
            summary: "Revoke a grant; the user's next token no longer carries it",
            params: &[SESSION, ("grant_id", true, "a positive integer")],
            answer: GRANT,
        },
        "/api/admin/grant/list" => Doc {
            tag: "administration (role admin)",
            summary: "Every grant, or one user's",
            params: &[SESSION, ("username", false, "only this user's grants")],
            answer: "grants: [grant]",
        },
        "/api/whoami" => Doc {
            tag: "identity",
            summary: "Who I am: my subject, platform roles and grants on clusters",
            params: &[(
                "session_key",
                false,
                "the 40-hex key from /api/login, when no bearer token is sent",
            )],
            answer: "subject, roles: [role], grants: [{role, cluster}], via (null: not relayed), \
                     credential (token or session_key)",
        },
        _ => return None,
    })
}

const GRANT: &str = "grant: {id, username, role, cluster_id, granted_by, granted_ms}";

/// The routes that answer GET as well as POST (reads whose parameters may be a query string).
const GET_TOO: [&str; 1] = ["/api/whoami"];

fn responses(doc: &Doc) -> Value {
    json!({
        "200": {
            "description": format!(
                "code 0 and desc{}",
                if doc.answer.is_empty() { String::new() } else { format!(", with {}", doc.answer) }
            ),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
        },
        "default": {
            "description": "a non-zero code and desc (see proto-docs/cloud-portal.md)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}},
        },
    })
}

/// The GET of a route: its parameters in the query string.
fn query_operation(doc: &Doc) -> Value {
    let parameters: Vec<Value> = doc
        .params
        .iter()
        .map(|(name, needed, description)| {
            json!({
                "name": name,
                "in": "query",
                "required": needed,
                "description": description,
                "schema": {"type": "string"},
            })
        })
        .collect();
    json!({
        "tags": [doc.tag],
        "summary": doc.summary,
        "parameters": parameters,
        "responses": responses(doc),
    })
}

fn operation(doc: &Doc) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, needed, description) in doc.params {
        properties.insert(
            (*name).to_string(),
            json!({"type": "string", "description": description}),
        );
        if *needed {
            required.push(*name);
        }
    }
    let schema = json!({"type": "object", "properties": properties, "required": required});
    json!({
        "tags": [doc.tag],
        "summary": doc.summary,
        "requestBody": openapi::form_or_json(schema),
        "responses": responses(doc),
    })
}

/// The embedded token issuer (OAuth 2.0 / OpenID discovery), answered in OAuth's own JSON.
fn issuer_paths() -> Map<String, Value> {
    let tag = "token issuer";
    let oauth_error = json!({"description": "an OAuth error (RFC 6749, 5.2)", "content": {"application/json": {"schema": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}}
    }}}});
    let any_object = json!({"type": "object"});
    let mut paths = Map::new();
    paths.insert(
        "/.well-known/openid-configuration".into(),
        json!({"get": {"tags": [tag], "summary": "Where the issuer publishes its keys and issues tokens",
            "operationId": "openid_configuration",
            "security": [],
            "responses": {"200": {"description": "the discovery document", "content": {"application/json": {"schema": any_object}}}}}}),
    );
    paths.insert(
        "/oauth/jwks".into(),
        json!({"get": {"tags": [tag], "summary": "The issuer's public keys (a JWKS)",
            "operationId": "jwks",
            "security": [],
            "responses": {"200": {"description": "`{\"keys\": [...]}`", "content": {"application/json": {"schema": {
                "type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": any_object}}}}}}}}}),
    );
    paths.insert(
        "/oauth/token".into(),
        json!({"post": {"tags": [tag], "summary": "An access token: a user's password (grant_type=password, username, password; with a refresh token), a refresh token (grant_type=refresh_token, refresh_token; used once, a new pair) or a service account's client credentials (grant_type=client_credentials, client_id, client_secret, or HTTP Basic)",
            "operationId": "token",
            "security": [],
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["grant_type"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["password", "client_credentials", "refresh_token"]},
                    "username": {"type": "string"}, "password": {"type": "string"},
                    "refresh_token": {"type": "string"},
                    "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                    "scope": {"type": "string"}}}}}},
            "responses": {
                "200": {"description": "`{access_token, token_type: Bearer, expires_in, refresh_token}` (no refresh token for client credentials)", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["access_token", "token_type", "expires_in"],
                    "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"}, "expires_in": {"type": "integer"}, "refresh_token": {"type": "string"}}}}}},
                "400": oauth_error.clone(),
                "401": oauth_error.clone(),
                "429": oauth_error.clone(),
                "default": oauth_error
            }}}),
    );
    paths.insert(
        "/oauth/revoked".into(),
        json!({"get": {"tags": [tag], "summary": "The ids (jti) of the revoked, unexpired API tokens; every service's verifier polls it",
            "operationId": "revoked_tokens",
            "security": [],
            "parameters": [{"name": "seen", "in": "query", "required": false,
                "description": "comma-separated ids of API tokens the verifier accepted since its last poll (their last-used time)",
                "schema": {"type": "string"}}],
            "responses": {"200": {"description": "`{\"revoked\": [jti, ...]}`", "content": {"application/json": {"schema": {
                "type": "object", "required": ["revoked"], "properties": {"revoked": {"type": "array", "items": {"type": "string"}}}}}}}}}}),
    );
    paths
}

fn build() -> Value {
    let mut paths = Map::new();
    for path in ROUTES {
        if let Some(doc) = describe(path) {
            let mut item = Map::new();
            item.insert("post".into(), operation(&doc));
            if GET_TOO.contains(&path) {
                item.insert("get".into(), query_operation(&doc));
            }
            paths.insert(path.to_string(), Value::Object(item));
        }
    }
    paths.extend(issuer_paths());
    let info = openapi::Info {
        service: crate::SERVICE,
        version: env!("CARGO_PKG_VERSION"),
        description: "Users, sessions, images, a host pool and VM instances (LuoYunCloud's \
                      API). Every route is a POST of key-value parameters answered \
                      {\"code\", \"desc\", ...}; see proto-docs/cloud-portal.md.",
        tags: &[
            ("seed", "The routes of the seed document."),
            ("lifecycle", "Instance lifecycle beyond the seed."),
            (
                "service API (role service or admin)",
                "What the task-engine's create_vm and return_vm call.",
            ),
            (
                "administration (role admin)",
                "Users, images, hosts, and grants of roles on single clusters.",
            ),
            ("identity", "Who the caller is (issue #13)."),
            (
                "API tokens",
                "Long-lived, revocable tokens for scripts and CI.",
            ),
        ],
        readiness: "the database answers",
    };
    let mut schemas = Map::new();
    schemas.insert(
        "Envelope".into(),
        json!({
            "type": "object",
            "required": ["code", "desc"],
            "properties": {
                "code": {"type": "integer", "description": "0 success; 1 refused; 2 requires authentication; 3 bad argument; 4 not found; 5 login failed; 6 login throttled; 7 conflict; 8 no capacity; 9 unavailable; 10 internal"},
                "desc": {"type": "string"},
            },
            "additionalProperties": true,
        }),
    );
    openapi::document(&info, paths, schemas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described() {
        let spec = build();
        for path in ROUTES {
            assert!(describe(path).is_some(), "{path} has no description");
            assert!(spec["paths"][path]["post"].is_object(), "{path}");
        }
        let login = &spec["paths"]["/api/login"]["post"]["requestBody"]["content"]
            ["application/x-www-form-urlencoded"]["schema"];
        assert_eq!(login["required"], json!(["username", "password"]));
    }

    #[test]
    fn the_document_serves_the_methods_of_the_table() {
        let problems = openapi::problems(&build(), &crate::routes::table());
        assert!(problems.is_empty(), "{problems:#?}");
        let whoami = &build()["paths"]["/api/whoami"];
        assert!(whoami["get"].is_object() && whoami["post"].is_object());
    }
}
