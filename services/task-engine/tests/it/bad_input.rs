//! Bad requests are answered in the envelope with the right status, never a 500 or a panic.

use client::{Encoding, Method};
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_error, TestApp};

kit::on_both_backends!(
    missing_fields_are_named,
    non_numeric_and_non_positive_ids_are_bad_requests,
    unknown_ids_are_not_found,
    huge_and_out_of_range_values_are_bad_requests,
    malformed_bodies_are_bad_requests,
    unknown_and_orchestrator_routes_and_wrong_methods_answer_in_the_envelope,
    forms_and_query_strings_are_accepted,
);

async fn missing_fields_are_named(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    assert_error(
        &app.post("/action/create", json!({"desc": "x"})).await,
        400,
        "`name`",
    );
    assert_error(
        &app.post("/remote_step/create", json!({"name": "s"})).await,
        400,
        "`actions`",
    );
    assert_error(
        &app.post("/task_tpl/create", json!({"name": "t"})).await,
        400,
        "`steps`",
    );
    assert_error(
        &app.post("/actimpl/create", json!({"action_id": 1, "template": {}}))
            .await,
        400,
        "`type`",
    );
    assert_error(
        &app.post(
            "/task_tpl/create",
            json!({"name": "t", "steps": [{"param_values": {}}]}),
        )
        .await,
        400,
        "steps[0].name",
    );
    let task = json!({"template_id": 1, "opr_user": "root", "nodes": ["10.0.0.1"]});
    assert_error(&app.post("/task/create", task).await, 400, "`task_name`");
    let task = json!({"template_id": 1, "task_name": "t", "opr_user": "root"});
    assert_error(&app.post("/task/create", task).await, 400, "`nodes`");
    let task = json!({"task_name": "t", "opr_user": "root", "nodes": ["10.0.0.1"]});
    assert_error(&app.post("/task/create", task).await, 400, "`template_id`");
    assert_error(&app.post("/task/impl/delete", json!({})).await, 400, "`id`");
}

async fn non_numeric_and_non_positive_ids_are_bad_requests(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/action/abc",
        "/action/update/1x",
        "/actimpl/-1",
        "/remote_step/delete/0",
        "/task_tpl/1.5",
        "/task/abc",
        "/task/abc/detail",
        "/task/flow/x/log",
        "/task/node/x/log",
    ] {
        assert_error(&app.post(path, json!({})).await, 400, "invalid id");
    }
    assert_error(
        &app.post("/task/impl/delete", json!({"id": "two"})).await,
        400,
        "invalid id",
    );
}

async fn unknown_ids_are_not_found(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    assert_error(
        &app.post("/action/42", json!({})).await,
        404,
        "action 42 not found",
    );
    assert_error(
        &app.post("/action/update/42", json!({"desc": "x"})).await,
        404,
        "action 42",
    );
    assert_error(
        &app.post("/action/delete/42", json!({})).await,
        404,
        "action 42",
    );
    assert_error(
        &app.post("/actimpl/delete/42", json!({})).await,
        404,
        "action implementation 42",
    );
    assert_error(
        &app.post("/remote_step/update/42", json!({})).await,
        404,
        "remote step 42",
    );
    assert_error(
        &app.post("/task_tpl/delete/42", json!({})).await,
        404,
        "task template 42",
    );
    assert_error(
        &app.post("/task/42", json!({})).await,
        404,
        "task 42 not found",
    );
    let task =
        json!({"template_id": 42, "task_name": "t", "opr_user": "root", "nodes": ["10.0.0.1"]});
    assert_error(
        &app.post("/task/create", task).await,
        404,
        "task template 42 not found",
    );
}

async fn huge_and_out_of_range_values_are_bad_requests(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    assert_error(
        &app.post("/action/99999999999999999999", json!({})).await,
        400,
        "invalid id",
    );
    assert_error(
        &app.post("/action/list", json!({"page_size": 100000})).await,
        400,
        "page_size",
    );
    assert_error(
        &app.post("/action/list", json!({"page": 0})).await,
        400,
        "page",
    );
    let long = "x".repeat(300);
    assert_error(
        &app.post("/action/create", json!({"name": long})).await,
        400,
        "longer than",
    );
    let steps = json!([{"name": "create_vm", "retry": {"retry_times": 1000}}]);
    assert_error(
        &app.post("/task_tpl/create", json!({"name": "t", "steps": steps}))
            .await,
        400,
        "retry_times",
    );
    let tpl = app
        .post("/task_tpl/create", json!({"name": "t", "steps": []}))
        .await;
    let tpl = tpl.body["data"].as_i64().expect("template id");
    let base =
        json!({"template_id": tpl, "task_name": "t", "opr_user": "root", "nodes": ["10.0.0.1"]});
    for (field, value) in [
        ("max_ratio", json!(0)),
        ("max_ratio", json!(101)),
        ("max_num", json!(-1)),
        ("timeout", json!(99999999999_i64)),
        ("template_id", json!("99999999999999999999")),
    ] {
        let mut body = base.clone();
        body[field] = value;
        assert_error(&app.post("/task/create", body).await, 400, field);
    }
    let mut body = base.clone();
    body["nodes"] = json!([{"ip": "1".repeat(300)}]);
    assert_error(
        &app.post("/task/create", body).await,
        400,
        // wire::host's limit (a DNS name's 253) comes before the column's 255.
        "`nodes[0].ip` is longer than 253",
    );
    let mut body = base.clone();
    body["nodes"] = json!((0..10_001)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect::<Vec<_>>());
    assert_error(&app.post("/task/create", body).await, 400, "at most 10000");
}

async fn malformed_bodies_are_bad_requests(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    // Broken JSON goes through the raw transport as a JSON string body.
    let broken = app
        .client
        .transport()
        .send(
            Method::POST,
            "/action/create",
            Encoding::Json,
            &json!("not an object"),
            client::transport::Idempotence::NotIdempotent,
        )
        .await
        .expect("answers");
    assert_error(&broken, 400, "must be an object");
    let c = &app.client;
    let broken = c.post_bytes(
        "/action/create",
        "application/json",
        b"{\"name\": ".to_vec(),
    );
    assert_error(&broken.await.expect("answers"), 400, "invalid JSON");
    let binary = c.post_bytes("/task/create", "application/json", vec![0xff, 0xfe, 0x00]);
    assert_error(&binary.await.expect("answers"), 400, "invalid JSON");
    let xml = c.post_bytes("/task_tpl/create", "text/xml", b"<steps/>".to_vec());
    assert_error(
        &xml.await.expect("answers"),
        400,
        "unsupported content type",
    );
    assert_error(
        &app.post("/action/create", json!({"name": "a", "params": [1]}))
            .await,
        400,
        "`params`",
    );
    assert_error(
        &app.post("/action/create", json!({"name": "a", "params": "{bad"}))
            .await,
        400,
        "not valid JSON",
    );
    assert_error(
        &app.post("/action/create", json!({"name": "a", "typo": 1}))
            .await,
        400,
        "typo",
    );
    assert_error(
        &app.post("/remote_step/create", json!({"name": "s", "actions": "x"}))
            .await,
        400,
        "actions",
    );
    assert_error(
        &app.post("/task_tpl/create", json!({"name": "t", "steps": {}}))
            .await,
        400,
        "steps",
    );
    let tpl = app
        .post("/task_tpl/create", json!({"name": "t", "steps": []}))
        .await;
    let tpl = tpl.body["data"].as_i64().expect("template id");
    let base = json!({"template_id": tpl, "task_name": "t", "opr_user": "root"});
    for (nodes, needle) in [
        (json!([]), "at least one node"),
        (json!({"ip": "x"}), "list of nodes"),
        (json!("[broken"), "list of nodes"),
        (json!([7]), "nodes[0]"),
    ] {
        let mut body = base.clone();
        body["nodes"] = nodes;
        assert_error(&app.post("/task/create", body).await, 400, needle);
    }
    let mut body = base.clone();
    body["nodes"] = json!(["10.0.0.1"]);
    body["params"] = json!(3);
    assert_error(&app.post("/task/create", body).await, 400, "`params`");
}

async fn unknown_and_orchestrator_routes_and_wrong_methods_answer_in_the_envelope(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    assert_error(
        &app.post("/no/such/route", json!({})).await,
        404,
        "no such route",
    );
    for path in ["/task/pause", "/task/pause/1"] {
        assert_error(
            &app.post(path, json!({"id": 1})).await,
            404,
            "task 1 not found",
        );
    }
    assert_error(
        &app.post("/task/saveTask", json!({})).await,
        404,
        "orchestrator",
    );
    let put = app
        .send(Method::PUT, "/action/list", Encoding::Json, json!({}))
        .await;
    assert_error(&put, 405, "use GET or POST");
}

async fn forms_and_query_strings_are_accepted(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let form = app
        .send(
            Method::POST,
            "/action/create",
            Encoding::Form,
            json!({"name": "form_action", "desc": "d", "params": "{\"time\":\"integer\"}"}),
        )
        .await;
    assert_eq!(form.body["code"], 0, "{}", form.body);
    let id = form.body["data"].as_i64().expect("id");
    let got = app.client.action(id).await.expect("read");
    assert_eq!(got.params.get("time"), Some(&json!("integer")));

    let query = app
        .send(
            Method::GET,
            "/action/list",
            Encoding::Query,
            json!({"page": "1", "page_size": "5"}),
        )
        .await;
    assert_eq!(
        (
            query.body["page"].as_u64(),
            query.body["page_size"].as_u64()
        ),
        (Some(1), Some(5))
    );
    assert_eq!(query.body["query_count"], 1);
}
