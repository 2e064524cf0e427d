//! `/openapi.json` describes what the service really answers: real answers (a batch with
//! written and refused rows above all) are checked against the document's schemas — every
//! required property present, of its type, `null` only where the document says nullable.

use client::{Encoding, Method};
use kit::testing::TestBackend;
use serde_json::{json, Value};

use crate::support::TestApp;

kit::on_both_backends!(answers_match_the_openapi_schemas);

/// Where `value` departs from `schema` (resolving `$ref`s in `doc`), as `at: reason` lines.
fn departures(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "{at}: schema {name} exists");
        return departures(doc, target, value, at, out);
    }
    if value.is_null() {
        if schema["nullable"] != json!(true) {
            out.push(format!("{at}: null, and the schema does not allow it"));
        }
        return;
    }
    let fits = match schema["type"].as_str() {
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        Some("object") => value.is_object(),
        _ => true,
    };
    if !fits {
        out.push(format!("{at}: {value} is not {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            out.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let (Some(items), Some(schema_items)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            departures(doc, schema_items, item, &format!("{at}[{i}]"), out);
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                out.push(format!("{at}.{name}: missing"));
            }
        }
        if let Some(properties) = schema["properties"].as_object() {
            for (name, property) in properties {
                if let Some(v) = object.get(name) {
                    departures(doc, property, v, &format!("{at}.{name}"), out);
                }
            }
        }
    }
}

async fn answers_match_the_openapi_schemas(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let web = app.add_server(json!({"hostname": "web"})).await;
    let db = app.add_server(json!({"hostname": "db"})).await;
    let a = &app.admin;
    a.add_ci_relation(web, db, "connect", None)
        .await
        .expect("a relation without `more`");
    let doc = a
        .transport()
        .send_value(Method::GET, "/openapi.json", Encoding::Query, &json!({}))
        .await
        .expect("the document")
        .body;
    let call = |method: Method, path: String, params: Value| async move {
        let reply = a
            .call_raw(method, &path, &params)
            .await
            .expect("the service answers");
        assert!(reply.status.is_success(), "{path}: {}", reply.body);
        reply.body
    };
    // A batch with a written row, an updated one and refused ones: `ci_id` and `message`
    // are null on the rows that do not have them.
    let batch = call(
        Method::POST,
        "/ci/batch".into(),
        json!({"ci_type": "server", "cis": [
            {"hostname": "new"},
            {"hostname": "web", "status": "up"},
            {"hostname": "bad", "cpu_core_num": "many"},
            {"ci_type": "router", "hostname": "r1"},
        ]}),
    )
    .await;
    let rows = batch["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 4, "{batch}");
    assert_eq!(rows[2]["ci_id"], Value::Null, "a refused row has no CI");
    assert_eq!(
        rows[0]["message"],
        Value::Null,
        "a written row has no message"
    );
    let answers = [
        ("BatchResult", batch),
        (
            "CiGraph",
            call(Method::GET, format!("/cirelations/{web}/graph"), json!({})).await,
        ),
        (
            "SecondCis",
            call(
                Method::GET,
                format!("/cirelations/{web}/second_cis"),
                json!({}),
            )
            .await,
        ),
        (
            "AttributeList",
            call(Method::GET, "/attributes".into(), json!({})).await,
        ),
        (
            "CiTypeList",
            call(Method::GET, "/citypes".into(), json!({})).await,
        ),
        (
            "SearchResult",
            call(
                Method::GET,
                "/ci/s".into(),
                json!({"q": "", "facet": "hostname"}),
            )
            .await,
        ),
        (
            "HistoryList",
            call(Method::GET, "/history/record".into(), json!({})).await,
        ),
        (
            "User",
            call(Method::POST, "/users".into(), json!({"username": "dave"})).await,
        ),
    ];
    let mut found = Vec::new();
    for (schema, answer) in &answers {
        departures(
            &doc,
            &json!({"$ref": format!("#/components/schemas/{schema}")}),
            answer,
            schema,
            &mut found,
        );
    }
    assert!(
        found.is_empty(),
        "answers depart from /openapi.json: {found:#?}"
    );
}
