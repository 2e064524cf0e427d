//! `/openapi.json`: the OpenAPI 3.0.3 description of the service, built once.
//!
//! Each function of [`super::functions`] is described by one table ([`describe`]): its seed
//! signature, its parameters (type, default, required), its result and the errors it can
//! answer. Both operations of `/api/<function>` are generated from that table — GET with the
//! parameters in the query string, POST with the same parameters as a form or JSON body — so
//! the two cannot drift apart. The tests below check the document against the routes and the
//! wire types.

use kit::openapi::{self, array_of, object, reference, FunctionParam as Param};
use kit::params::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use serde_json::{json, Map, Value};
use wire::resource_pool::{ErrorCode, STAT_OFFLINE, STAT_ONLINE};

use crate::inventory::{self, DEFAULT_DB_TYPE, DEFAULT_PORT};

const MAX_TEXT: u64 = inventory::MAX_TEXT as u64;
const MAX_DB_NAME: u64 = inventory::MAX_DB_NAME as u64;
/// What `inventory::parse_date` accepts: a date, or a date and time (space or `T`).
const DATE_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}:\d{2})?$";
/// What the request-id middleware keeps of a caller's `X-Request-Id`.
const REQUEST_ID_PATTERN: &str = r"^[A-Za-z0-9._:/-]{1,128}$";

const TAG_READS: &str = "seed: reads";
const TAG_WRITES: &str = "seed: writes";
const TAG_BEYOND: &str = "beyond the seed";

kit::served_openapi!(build);

fn build() -> Value {
    let mut paths = Map::new();
    let table = super::table();
    for name in super::functions() {
        if let Some(function) = describe(&name) {
            let path = format!("/api/{name}");
            let reads = openapi::serves_get(&table, &path);
            paths.insert(path, path_item(&name, &function, reads));
        }
    }
    let info = openapi::Info {
        service: crate::SERVICE,
        version: env!("CARGO_PKG_VERSION"),
        description: INFO,
        tags: &[
            (TAG_READS, "The seed's read functions."),
            (
                TAG_WRITES,
                "The seed's write functions; every change is kept in the audit log.",
            ),
            (TAG_BEYOND, "Functions the seed does not have."),
        ],
        readiness: "the inventory database answers",
    };
    let schemas = schemas().as_object().cloned().unwrap_or_default();
    openapi::document(&info, paths, schemas)
}

const INFO: &str = "The DBA inventory of servers, MySQL instances and databases.\n\n\
Every seed function is `/api/<function>` (a trailing slash is accepted too), served for POST \
(parameters as an `application/x-www-form-urlencoded` or `application/json` body; \
query-string parameters are merged in, body keys win) and, for the reads, for GET as well \
(parameters in the query string). In a JSON body a number may also be a decimal string, and a text \
field may be a number. A blank integer counts as absent (its default applies); a blank text field is a value (`server_owner=` clears the owner). Unknown parameters are refused (400), \
so a typo is never silently ignored.\n\n\
Every answer is the envelope `{code, msg, result}`: `code` 0 and `msg` `success` with the \
result, or one of the error codes with `result` null: 1 bad argument (HTTP 400), 2 not found \
(404), 3 duplicate (409), 4 in use (409), 5 inventory database unavailable (503), 6 internal \
(500). An unknown route answers 404 with code 2, a method the function does not answer 405 with \
code 1 and an `Allow` header.";

// ---- one table per function ----

/// Everything the document says about one function.
struct Function {
    tag: &'static str,
    summary: String,
    description: &'static str,
    params: Vec<Param>,
    result: Value,
    /// What is missing when it answers 404; `None` if it never does.
    not_found: Option<&'static str>,
    /// The codes of its 409 answers; empty if it never answers 409.
    conflicts: &'static [ErrorCode],
}

impl Function {
    fn seed(tag: &'static str, signature: &str, what: &str, result: Value) -> Self {
        Function {
            tag,
            summary: format!("Seed `{signature}`: {what}"),
            description: "",
            params: Vec::new(),
            result,
            not_found: None,
            conflicts: &[],
        }
    }

    fn beyond(what: &str, result: Value) -> Self {
        Function {
            tag: TAG_BEYOND,
            summary: format!("Beyond the seed: {what}"),
            ..Function::seed(TAG_BEYOND, "", "", result)
        }
    }

    fn params(self, params: Vec<Param>) -> Self {
        Function { params, ..self }
    }

    fn description(self, description: &'static str) -> Self {
        Function {
            description,
            ..self
        }
    }

    fn not_found(self, what: &'static str) -> Self {
        Function {
            not_found: Some(what),
            ..self
        }
    }

    fn conflicts(self, conflicts: &'static [ErrorCode]) -> Self {
        Function { conflicts, ..self }
    }
}

/// The table of a function of [`super::functions`]; `None` for a name it does not know (a test
/// checks that there is none).
fn describe(name: &str) -> Option<Function> {
    let function = match name {
        "get_all_instance" => Function::seed(
            TAG_READS,
            "get_all_instance(model=None, stat=0, count=0)",
            "list the instances",
            array_of("Instance"),
        )
        .params(listing("instances"))
        .description("Instances in the order they were added."),
        "get_all_server" => Function::seed(
            TAG_READS,
            "get_all_server(model=None, stat=0, count=0)",
            "list the servers",
            array_of("Server"),
        )
        .params(listing("servers"))
        .description("Servers in the order they were added."),
        "get_all_db" => Function::seed(
            TAG_READS,
            "get_all_db(model=None, stat=0, count=0)",
            "list the databases",
            array_of("Database"),
        )
        .params(listing("databases"))
        .description("Databases in the order they were added."),
        "get_instance" => Function::seed(
            TAG_READS,
            "get_instance(model=None, ip=None, port=3306)",
            "one instance",
            reference("Instance"),
        )
        .params(vec![model(), ip("The instance's ip."), port()])
        .not_found("no instance at `ip`:`port`"),
        "get_database_by_name_instance" => Function::seed(
            TAG_READS,
            "get_database_by_name_instance(model=None, ip=None, port=3306, db=None)",
            "one database of an instance",
            reference("Database"),
        )
        .params(vec![model(), ip("The instance's ip."), port(), db()])
        .not_found("no database `db` on the instance `ip`:`port`"),
        "get_server_by_ip" => Function::seed(
            TAG_READS,
            "get_server_by_ip(model=None, ip=None)",
            "one server",
            reference("Server"),
        )
        .params(vec![model(), ip("The server's ip.")])
        .not_found("no server with this `ip`"),
        "add_server" => Function::seed(
            TAG_WRITES,
            "add_server(ip, **args)",
            "add a server",
            reference("Server"),
        )
        .params(with(
            vec![model(), ip("The new server's ip.")],
            server_fields(true),
        ))
        .description("Answers the added server (the seed answers only the code).")
        .conflicts(&[ErrorCode::Duplicate]),
        "mod_server" => Function::seed(
            TAG_WRITES,
            "mod_server(ip, **args)",
            "change a server",
            reference("Server"),
        )
        .params(with(
            vec![model(), ip("The server's ip.")],
            server_fields(false),
        ))
        .description(
            "Give at least one `server_*` field (400 otherwise); absent fields are kept. \
             Answers the changed server.",
        )
        .not_found("no server with this `ip`"),
        "del_server" => Function::seed(
            TAG_WRITES,
            "del_server(ip)",
            "delete a server",
            reference("Deleted"),
        )
        .params(vec![
            model(),
            ip("The server's ip."),
            cascade("its instances and their databases"),
        ])
        .description("Answers what was deleted.")
        .not_found("no server with this `ip`")
        .conflicts(&[ErrorCode::InUse]),
        "add_instance" => Function::seed(
            TAG_WRITES,
            "add_instance(ip, port, **args)",
            "add an instance",
            reference("Instance"),
        )
        .params(with(
            vec![model(), ip("The instance's ip."), port()],
            instance_fields(true),
        ))
        .description(
            "If no server has this ip, one is added first (with default values, and audited). \
             Answers the added instance.",
        )
        .conflicts(&[ErrorCode::Duplicate]),
        "mod_instance" => Function::seed(
            TAG_WRITES,
            "mod_instance(ip, port, **args)",
            "change an instance",
            reference("Instance"),
        )
        .params(with(
            vec![model(), ip("The instance's ip."), port()],
            instance_fields(false),
        ))
        .description(
            "Give at least one `instance_*` field (400 otherwise); absent fields are kept. \
             Answers the changed instance.",
        )
        .not_found("no instance at `ip`:`port`"),
        "del_instance" => Function::seed(
            TAG_WRITES,
            "del_instance(ip, port)",
            "delete an instance",
            reference("Deleted"),
        )
        .params(vec![
            model(),
            ip("The instance's ip."),
            port(),
            cascade("its databases"),
        ])
        .description("The server stays. Answers what was deleted.")
        .not_found("no instance at `ip`:`port`")
        .conflicts(&[ErrorCode::InUse]),
        "add_database" => Function::seed(
            TAG_WRITES,
            "add_database(db, ip, port, **args)",
            "add a database",
            reference("Database"),
        )
        .params(with(
            vec![model(), db(), ip("The instance's ip."), port()],
            database_fields(true),
        ))
        .description(
            "If there is no instance at `ip`:`port`, one is added first (and its server if \
             need be, with default values, audited). Answers the added database.",
        )
        .conflicts(&[ErrorCode::Duplicate]),
        "mod_database" => Function::seed(
            TAG_WRITES,
            "mod_database(ip, port, db, **args)",
            "change, rename or move a database",
            reference("Database"),
        )
        .params(with(
            vec![model(), ip("The instance's ip."), port(), db()],
            database_fields(false),
        ))
        .description(
            "Give at least one `database_*` field (400 otherwise); absent fields are kept. \
             `database_name` renames the database; `database_ip` / `database_port` move it to \
             another instance, which must exist. Answers the changed database.",
        )
        .not_found("no database `db` on `ip`:`port`, or no instance to move it to")
        .conflicts(&[ErrorCode::Duplicate]),
        "del_database" => Function::seed(
            TAG_WRITES,
            "del_database(ip, port, db)",
            "delete a database",
            reference("Deleted"),
        )
        .params(vec![model(), ip("The instance's ip."), port(), db()])
        .description("Answers what was deleted.")
        .not_found("no database `db` on `ip`:`port`"),
        "audit_log" => Function::beyond("page through the audit log", reference("AuditPage"))
            .params(audit_filters())
            .description("Changes to the inventory, newest first; every filter is optional."),
        "probe_instance" => Function::beyond(
            "connect to a listed MySQL instance and report what it says",
            reference("ProbeReport"),
        )
        .params(vec![model(), ip("The instance's ip."), port()])
        .description(
            "The instance must be in the inventory (404 otherwise). An instance that does not \
             answer is a report with `reachable` false, not an error.",
        )
        .not_found("no instance at `ip`:`port` in the inventory"),
        _ => return None,
    };
    Some(function)
}

fn with(mut first: Vec<Param>, rest: Vec<Param>) -> Vec<Param> {
    first.extend(rest);
    first
}

// ---- the parameters ----

fn model() -> Param {
    Param::optional(
        "model",
        "The calling module (the seed's `model`), kept in the audit log of writes; \
         at most 255 printable characters, `-` when absent.",
        json!({"type": "string", "maxLength": MAX_TEXT}),
    )
}

fn listing(what: &str) -> Vec<Param> {
    vec![
        model(),
        Param::optional(
            "stat",
            format!("Which {what}: 0 all, 1 only the online ones, 2 only the offline ones."),
            json!({"type": "integer", "enum": [0, STAT_ONLINE, STAT_OFFLINE], "default": 0}),
        ),
        Param::optional(
            "count",
            format!("At most this many {what}; 0 means all."),
            json!({"type": "integer", "format": "int64", "minimum": 0, "default": 0}),
        ),
    ]
}

fn ip(description: &str) -> Param {
    Param::required(
        "ip",
        format!("{description} An IPv4 or IPv6 address (kept in its canonical form)."),
        json!({"type": "string", "example": "10.0.0.1"}),
    )
}

fn port() -> Param {
    Param::optional(
        "port",
        "The instance's port.",
        json!({"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535, "default": DEFAULT_PORT}),
    )
}

fn db() -> Param {
    Param::required(
        "db",
        "The database's name.",
        json!({"type": "string", "minLength": 1, "maxLength": MAX_DB_NAME}),
    )
}

fn cascade(below: &str) -> Param {
    Param::optional(
        "cascade",
        format!(
            "1 deletes {below} too; 0 refuses (409, code 4) while there are any. \
             `true`/`false`, `yes`/`no` and `on`/`off` are accepted too."
        ),
        json!({"type": "integer", "enum": [0, 1], "default": 0}),
    )
}

/// A text field of the `**args`; when adding, absent means empty.
fn text_field(name: &'static str, what: &str, adding: bool) -> Param {
    let mut schema = json!({"type": "string", "maxLength": MAX_TEXT});
    if adding {
        schema["default"] = json!("");
    }
    Param::optional(name, what, schema)
}

/// An owner or business by name: found or created, empty clears it.
fn named_field(name: &'static str, what: &str) -> Param {
    Param::optional(
        name,
        format!("{what}, by name: created if unknown; empty clears it."),
        json!({"type": "string", "maxLength": MAX_TEXT}),
    )
}

fn online_field(name: &'static str, adding: bool) -> Param {
    let when = if adding { " Absent: now." } else { "" };
    Param::optional(
        name,
        format!("Online date, `YYYY-mm-dd` or `YYYY-mm-dd HH:MM:SS` (UTC).{when}"),
        json!({"type": "string", "pattern": DATE_PATTERN, "example": "2024-01-31 08:00:00"}),
    )
}

fn stat_field(name: &'static str, adding: bool) -> Param {
    let mut schema = json!({"type": "integer", "enum": [STAT_ONLINE, STAT_OFFLINE]});
    if adding {
        schema["default"] = json!(STAT_ONLINE);
    }
    Param::optional(name, "1 online, 2 offline (not in the seed).", schema)
}

/// The `**args` of `add_server` / `mod_server` (`wire::resource_pool::ServerFields`).
fn server_fields(adding: bool) -> Vec<Param> {
    vec![
        text_field("server_name", "Name of the server.", adding),
        online_field("server_online", adding),
        named_field("server_owner", "Owner"),
        text_field("server_os", "Operating system.", adding),
        stat_field("server_stat", adding),
    ]
}

/// The `**args` of `add_instance` / `mod_instance` (`wire::resource_pool::InstanceFields`).
fn instance_fields(adding: bool) -> Vec<Param> {
    let mut db_type = json!({"type": "string", "maxLength": MAX_TEXT});
    if adding {
        db_type["default"] = json!(DEFAULT_DB_TYPE);
    }
    vec![
        text_field("instance_level", "Level of the instance.", adding),
        text_field("instance_name", "Name of the instance.", adding),
        named_field("instance_bussiness", "Business (the seed's spelling)"),
        named_field(
            "instance_business",
            "Alias of `instance_bussiness` (give one of the two): business",
        ),
        online_field("instance_online", adding),
        named_field("instance_owner", "Owner"),
        Param::optional("instance_dbtype", "Database type.", db_type),
        text_field("instance_hatype", "High-availability type.", adding),
        stat_field("instance_stat", adding),
    ]
}

/// The `**args` of `add_database` / `mod_database` (`wire::resource_pool::DatabaseFields`).
fn database_fields(adding: bool) -> Vec<Param> {
    let location = if adding {
        "When adding, it may only repeat"
    } else {
        "Moves or renames the database, instead of"
    };
    vec![
        Param::optional(
            "database_ip",
            format!("{location} `ip` (an IPv4 or IPv6 address)."),
            json!({"type": "string"}),
        ),
        Param::optional(
            "database_port",
            format!("{location} `port`."),
            json!({"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535}),
        ),
        Param::optional(
            "database_name",
            format!("{location} `db`."),
            json!({"type": "string", "minLength": 1, "maxLength": MAX_DB_NAME}),
        ),
        text_field("database_level", "Level of the database.", adding),
        named_field("database_owner", "Owner"),
        named_field("database_business", "Business"),
        named_field(
            "database_bussiness",
            "Alias of `database_business` (give one of the two): business",
        ),
        online_field("database_online", adding),
        stat_field("database_stat", adding),
    ]
}

fn audit_filters() -> Vec<Param> {
    vec![
        Param::optional(
            "page",
            "Page number, from 1.",
            json!({"type": "integer", "format": "int64", "minimum": 1, "default": 1}),
        ),
        Param::optional(
            "page_size",
            "Entries per page.",
            json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}),
        ),
        Param::optional(
            "who",
            "Only changes made by this verified subject (exact).",
            json!({"type": "string"}),
        ),
        Param::optional(
            "model",
            "Only changes made by this calling module (exact; `-` for calls without `model`).",
            json!({"type": "string"}),
        ),
        Param::optional(
            "action",
            "Only this kind of change.",
            json!({"type": "string", "enum": ["add", "mod", "del"]}),
        ),
        Param::optional(
            "entity",
            "Only changes to this kind of row.",
            json!({"type": "string", "enum": ["server", "instance", "database"]}),
        ),
        Param::optional(
            "ip",
            "Only changes to the server with this ip, its instances and their databases.",
            json!({"type": "string"}),
        ),
        Param::optional(
            "since",
            "Only changes at or after this UTC time (a date alone is its 00:00:00).",
            json!({"type": "string", "pattern": DATE_PATTERN}),
        ),
        Param::optional(
            "until",
            "Only changes at or before this UTC time (a date alone is its 00:00:00).",
            json!({"type": "string", "pattern": DATE_PATTERN}),
        ),
    ]
}

// ---- operations, generated from the table ----

/// A function's operations: POST, and GET for the reads.
fn path_item(name: &str, function: &Function, answers_get: bool) -> Value {
    openapi::function_path_item(&openapi::FunctionRoute {
        name,
        tag: function.tag,
        summary: &function.summary,
        description: function.description,
        params: &function.params,
        common_parameters: &[request_id_parameter()],
        responses: responses(function),
        answers_get,
    })
}

fn request_id_parameter() -> Value {
    json!({
        "name": "X-Request-Id",
        "in": "header",
        "required": false,
        "description": "Correlation id, kept in the audit log of writes; made up when absent or unsafe.",
        "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    })
}

fn responses(function: &Function) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({
            "description": "Success: `code` 0, the answer in `result`.",
            "headers": request_id_header(),
            "content": {"application/json": {"schema": success(function.result.clone())}},
        }),
    );
    let bad =
        "A parameter is missing, malformed, out of range or unknown, or the body is unreadable.";
    responses.insert("400".into(), failure(bad, &[ErrorCode::BadArgument]));
    if let Some(what) = function.not_found {
        let text = format!("Not found: {what}.");
        responses.insert("404".into(), failure(&text, &[ErrorCode::NotFound]));
    }
    if !function.conflicts.is_empty() {
        let meanings: Vec<String> = function
            .conflicts
            .iter()
            .map(|code| format!("code {}: {}", *code as i32, meaning(*code)))
            .collect();
        let text = format!("Conflict ({}).", meanings.join("; "));
        responses.insert("409".into(), failure(&text, function.conflicts));
    }
    responses.insert(
        "503".into(),
        failure(meaning(ErrorCode::Unavailable), &[ErrorCode::Unavailable]),
    );
    responses.insert(
        "500".into(),
        failure(meaning(ErrorCode::Internal), &[ErrorCode::Internal]),
    );
    Value::Object(responses)
}

/// The envelope of a success, with `result` as given.
fn success(result: Value) -> Value {
    json!({
        "type": "object",
        "required": ["code", "msg", "result"],
        "properties": {
            "code": {"type": "integer", "enum": [ErrorCode::Success as i32]},
            "msg": {"type": "string", "example": "success"},
            "result": result,
        },
    })
}

/// An error answer: the error envelope, its `code` narrowed to `codes`.
fn failure(description: &str, codes: &[ErrorCode]) -> Value {
    let codes: Vec<i32> = codes.iter().map(|code| *code as i32).collect();
    json!({
        "description": description,
        "headers": request_id_header(),
        "content": {"application/json": {"schema": {
            "allOf": [
                reference("ErrorReply"),
                {"type": "object", "properties": {"code": {"type": "integer", "enum": codes}}},
            ],
        }}},
    })
}

fn request_id_header() -> Value {
    json!({"X-Request-Id": {
        "description": "The request's correlation id (the caller's, or one made up).",
        "schema": {"type": "string"},
    }})
}

fn meaning(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Success => "success",
        ErrorCode::BadArgument => "a parameter is missing, malformed, out of range or unknown",
        ErrorCode::NotFound => "the server, instance or database does not exist",
        ErrorCode::Duplicate => "it already exists",
        ErrorCode::InUse => "deleting it would orphan rows below it; ask for `cascade=1`",
        ErrorCode::Unavailable => "the inventory's own database cannot be reached",
        ErrorCode::Internal => "anything else",
        ErrorCode::Unauthenticated => "no valid access token",
        ErrorCode::Forbidden => "the token's roles do not allow this",
    }
}

// ---- component schemas (the wire types of `wire::resource_pool`) ----

fn id() -> Value {
    json!({"type": "integer", "format": "int64"})
}

fn nullable_id(description: &str) -> Value {
    json!({"type": "integer", "format": "int64", "nullable": true, "description": description})
}

fn text(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn nullable_text(description: &str) -> Value {
    json!({"type": "string", "nullable": true, "description": description})
}

fn count(description: &str) -> Value {
    json!({"type": "integer", "format": "int64", "minimum": 0, "description": description})
}

fn port_number() -> Value {
    json!({"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535})
}

fn stat() -> Value {
    json!({"type": "integer", "enum": [STAT_ONLINE, STAT_OFFLINE], "description": "1 online, 2 offline."})
}

fn date_time() -> Value {
    json!({"type": "string", "description": "UTC, `YYYY-mm-dd HH:MM:SS`.", "example": "2024-01-31 08:00:00"})
}

fn schemas() -> Value {
    json!({
        "ErrorCode": {
            "type": "integer",
            "enum": [
                ErrorCode::Success as i32,
                ErrorCode::BadArgument as i32,
                ErrorCode::NotFound as i32,
                ErrorCode::Duplicate as i32,
                ErrorCode::InUse as i32,
                ErrorCode::Unavailable as i32,
                ErrorCode::Internal as i32,
                ErrorCode::Unauthenticated as i32,
                ErrorCode::Forbidden as i32,
            ],
            "description": "0 success; 1 bad argument (400); 2 not found (404); 3 duplicate (409); \
                            4 in use (409); 5 unavailable (503); 6 internal (500); \
                            7 unauthenticated (401); 8 forbidden (403).",
        },
        "ErrorReply": object("The envelope of an error.", vec![
            ("code", reference("ErrorCode")),
            ("msg", text("What went wrong, naming the parameter or the row.")),
            ("result", json!({"type": "object", "nullable": true, "description": "Always null."})),
        ]),
        "Server": server(),
        "Instance": instance(),
        "Database": database(),
        "Deleted": object("What a delete removed (more than one row only with `cascade=1`).", vec![
            ("servers", count("Servers deleted.")),
            ("instances", count("Instances deleted.")),
            ("databases", count("Databases deleted.")),
        ]),
        "AuditEntry": audit_entry(),
        "AuditPage": object("A page of the audit log, newest first.", vec![
            ("total", count("Entries matching the filters, on all pages.")),
            ("page", json!({"type": "integer", "format": "int64", "minimum": 1})),
            ("page_size", json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_PAGE_SIZE})),
            ("entries", array_of("AuditEntry")),
        ]),
        "ProbeReport": probe_report(),
    })
}

fn server() -> Value {
    object(
        "A server: keys of `get_all_server` / `get_server_by_ip` (`owner` is the owner's id, \
         `owner_name` its name).",
        vec![
            ("id", id()),
            ("ip", text("IPv4 or IPv6 address.")),
            ("name", text("Name.")),
            ("os", text("Operating system.")),
            ("stat", stat()),
            ("owner", nullable_id("The owner's id; null when none.")),
            ("owner_name", text("The owner's name; empty when none.")),
            ("online_date", date_time()),
        ],
    )
}

fn instance() -> Value {
    object(
        "A MySQL instance: keys of `get_all_instance` / `get_instance` (here `owner_id` is the \
         owner's id and `owner` its name).",
        vec![
            ("id", id()),
            ("ip", text("The server's ip.")),
            ("port", port_number()),
            ("server_id", id()),
            ("name", text("Name.")),
            ("level", text("Level.")),
            ("stat", stat()),
            (
                "business_id",
                nullable_id("The business's id; null when none."),
            ),
            ("business", text("The business's name; empty when none.")),
            ("owner_id", nullable_id("The owner's id; null when none.")),
            ("owner", text("The owner's name; empty when none.")),
            ("db_type", text("Database type, `mysql` unless given.")),
            ("ha_type", text("High-availability type.")),
            ("online_date", date_time()),
        ],
    )
}

fn database() -> Value {
    object(
        "A database: keys of `get_all_db` / `get_database_by_name_instance` (`owner` is the \
         owner's id, `owner_name` its name).",
        vec![
            ("id", id()),
            ("ip", text("The instance's ip.")),
            ("port", port_number()),
            ("name", text("Name.")),
            ("level", text("Level.")),
            ("instance_id", id()),
            (
                "business_id",
                nullable_id("The business's id; null when none."),
            ),
            ("business", text("The business's name; empty when none.")),
            ("owner", nullable_id("The owner's id; null when none.")),
            ("owner_name", text("The owner's name; empty when none.")),
            ("online_date", date_time()),
            ("stat", stat()),
        ],
    )
}

fn audit_entry() -> Value {
    let row = |when: &str| {
        json!({
            "type": "object",
            "nullable": true,
            "description": format!(
                "The row {when}, as a Server, Instance or Database (after `entity`)."
            ),
        })
    };
    object(
        "One change to the inventory.",
        vec![
            ("id", id()),
            ("at", date_time()),
            ("model", text("The calling module (`-` when the call named none).")),
            ("action", json!({"type": "string", "enum": ["add", "mod", "del"]})),
            ("entity", json!({"type": "string", "enum": ["server", "instance", "database"]})),
            ("target", text("`ip` (server), `ip:port` (instance) or `ip:port/db` (database); an IPv6 ip in brackets before a port.")),
            ("old_value", row("before the change; null for `add`")),
            ("new_value", row("after the change; null for `del`")),
            ("request_id", text("The request's correlation id.")),
            ("who", text("The verified subject of the access token that made the change.")),
        ],
    )
}

fn probe_report() -> Value {
    object(
        "What `probe_instance` found.",
        vec![
            ("ip", text("The instance's ip.")),
            ("port", port_number()),
            (
                "reachable",
                json!({"type": "boolean", "description": "Whether it answered."}),
            ),
            (
                "version",
                nullable_text("`SELECT VERSION()`; null when unreachable."),
            ),
            (
                "uptime_seconds",
                json!({"type": "integer", "format": "int64", "minimum": 0, "nullable": true, "description": "Its `Uptime` status; null when unknown."}),
            ),
            (
                "error",
                nullable_text("Why it is unreachable; null when reachable."),
            ),
            (
                "elapsed_ms",
                count("How long the probe took, in milliseconds."),
            ),
        ],
    )
}

#[cfg(test)]
mod tests;
