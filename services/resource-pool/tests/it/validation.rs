use client::Encoding;
use kit::testing::TestBackend;
use serde_json::{json, Value};

use wire::resource_pool::ErrorCode;

use crate::support::{code_and_msg, TestApp};
use kit::on_both_backends;

on_both_backends!(
    bad_input_is_refused_with_the_field_named,
    refused_writes_change_nothing
);

/// (function, params, a word the message must contain)
fn bad_calls() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("get_instance", json!({}), "`ip`"),
        ("get_instance", json!({"ip": "10.0.0.300"}), "`ip`"),
        ("get_instance", json!({"ip": "db-01"}), "db-01"),
        (
            "get_instance",
            json!({"ip": "10.0.0.1", "port": 0}),
            "`port`",
        ),
        (
            "get_instance",
            json!({"ip": "10.0.0.1", "port": 65536}),
            "`port`",
        ),
        (
            "get_instance",
            json!({"ip": "10.0.0.1", "port": "abc"}),
            "`port`",
        ),
        (
            "get_instance",
            json!({"ip": "10.0.0.1", "colour": "red"}),
            "`colour`",
        ),
        ("get_all_instance", json!({"stat": 3}), "`stat`"),
        ("get_all_server", json!({"stat": "online"}), "`stat`"),
        ("get_all_db", json!({"count": -1}), "`count`"),
        (
            "get_all_db",
            json!({"count": "99999999999999999999"}),
            "`count`",
        ),
        (
            "get_database_by_name_instance",
            json!({"ip": "10.0.0.1"}),
            "`db`",
        ),
        (
            "add_server",
            json!({"ip": "10.0.0.1", "server_colour": "red"}),
            "`server_colour`",
        ),
        (
            "add_server",
            json!({"ip": "10.0.0.1", "server_stat": 5}),
            "`server_stat`",
        ),
        (
            "add_server",
            json!({"ip": "10.0.0.1", "server_online": "yesterday"}),
            "`server_online`",
        ),
        (
            "add_server",
            json!({"ip": "10.0.0.1", "server_name": "x".repeat(300)}),
            "`server_name`",
        ),
        ("mod_server", json!({"ip": "10.0.0.1"}), "nothing to change"),
        (
            "mod_server",
            json!({"ip": "10.0.0.1", "instance_name": "x"}),
            "`instance_name`",
        ),
        (
            "add_instance",
            json!({"ip": "10.0.0.1", "port": 3306, "instance_stat": "up"}),
            "`instance_stat`",
        ),
        (
            "mod_instance",
            json!({"ip": "10.0.0.1", "port": 3306, "server_os": "x"}),
            "`server_os`",
        ),
        (
            "add_database",
            json!({"ip": "10.0.0.1", "port": 3306}),
            "`db`",
        ),
        (
            "add_database",
            json!({"db": "x".repeat(65), "ip": "10.0.0.1"}),
            "`db`",
        ),
        (
            "add_database",
            json!({"db": "a", "ip": "10.0.0.1", "database_port": 3307}),
            "`database_port`",
        ),
        (
            "mod_database",
            json!({"db": "a", "ip": "10.0.0.1", "database_ip": "nope"}),
            "`database_ip`",
        ),
        (
            "del_server",
            json!({"ip": "10.0.0.1", "cascade": "maybe"}),
            "`cascade`",
        ),
        (
            "del_database",
            json!({"ip": "10.0.0.1", "port": 3306}),
            "`db`",
        ),
        ("audit_log", json!({"page": 0}), "`page`"),
        ("audit_log", json!({"action": "drop"}), "`action`"),
        ("audit_log", json!({"since": "last week"}), "`since`"),
        (
            "get_instance",
            json!({"ip": ["10.0.0.1", "10.0.0.2"]}),
            "`ip`",
        ),
    ]
}

async fn bad_input_is_refused_with_the_field_named(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for (function, params, needle) in bad_calls() {
        let encoding = if params.get("ip").is_some_and(Value::is_array) {
            Encoding::Json
        } else {
            Encoding::Form
        };
        let reply = app.raw(function, encoding, params.clone()).await;
        let (code, msg) = code_and_msg(&reply);
        assert_eq!(
            (reply.status.as_u16(), code),
            (400, 1),
            "{function} {params}: {msg}"
        );
        assert!(
            msg.contains(needle),
            "{function} {params}: `{msg}` does not name {needle}"
        );
        assert!(reply.body["result"].is_null());
    }

    // Bodies that cannot be read at all.
    let transport = app.client.transport();
    for (content_type, body) in [
        ("application/json", "{not json"),
        ("application/json", "[1,2]"),
        ("text/xml", "<ip/>"),
    ] {
        let reply = raw_body(&app, transport.base_url(), content_type, body).await;
        assert_eq!(reply.0, 400, "{content_type} {body}");
        assert_eq!(
            reply.1["code"],
            ErrorCode::BadArgument as i64,
            "{content_type} {body}: {}",
            reply.1
        );
    }
}

async fn raw_body(app: &TestApp, base: &str, content_type: &str, body: &str) -> (u16, Value) {
    // A hand-made request: the typed client never sends a broken body.
    let response = reqwest::Client::new()
        .post(format!("{base}/api/add_server"))
        .bearer_auth(&app.token)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .expect("the service answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON envelope"))
}

async fn refused_writes_change_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for (function, params, _) in bad_calls() {
        let encoding = if params.get("ip").is_some_and(Value::is_array) {
            Encoding::Json
        } else {
            Encoding::Query
        };
        app.raw(function, encoding, params).await;
    }
    assert!(app.client.all_servers(0, 0).await.unwrap().is_empty());
    assert!(app.client.all_instances(0, 0).await.unwrap().is_empty());
    let page = app.client.audit_log(&Default::default()).await.unwrap();
    assert_eq!(page.total, 0, "{page:?}");
}
