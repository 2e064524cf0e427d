use client::{Encoding, Method};
use kit::testing::{serve, serve_at, test_http, Served, TestBackend, TestDatabase};
use serde_json::json;

use crate::support::{assert_error, TestApp};

/// A real task-engine in-process on port 0: its URL, its server and its database.
async fn task_engine(backend: TestBackend) -> (String, Served, TestDatabase) {
    let db = TestDatabase::create(backend, "oc_te");
    let config = task_engine::Config {
        http: test_http(),
        database: db.config.clone(),
        auth: kit::testing::issuer::issuer().auth_config(),
        ..task_engine::Config::default()
    };
    let bound = task_engine::start(config)
        .await
        .expect("task-engine starts");
    let engine = serve(bound);
    (engine.url.clone(), engine, db)
}

async fn forwards_task_engine_routes(backend: TestBackend) {
    let (url, engine, _engine_db) = task_engine(backend).await;
    let app = TestApp::spawn_with(backend, &url).await;
    let c = &app.client;

    // A JSON body, a form body and a query string all reach the task-engine.
    let reply = app
        .call(
            Method::POST,
            "/action/create",
            json!({"name": "echo_word", "desc": "says it", "params": {"word": "string"}}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let action = reply.body["data"].as_i64().expect("new id as data");
    let reply = c
        .call_raw(
            Method::POST,
            "/action/create",
            Encoding::Form,
            &json!({"name": "second", "desc": "", "params": "{\"host\":\"string\"}"}),
        )
        .await
        .unwrap();
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let reply = c
        .call_raw(
            Method::GET,
            "/action/list",
            Encoding::Query,
            &json!({"page": 2, "page_size": 1}),
        )
        .await
        .unwrap();
    assert_eq!(reply.body["page"], 2, "{}", reply.body);
    assert_eq!(reply.body["query_count"], 2);
    assert_eq!(reply.body["data"][0]["name"], "second");
    let reply = app
        .call(Method::POST, &format!("/action/{action}"), json!({}))
        .await;
    assert_eq!(reply.body["data"]["name"], "echo_word");
    let reply = app.call(Method::GET, "/task_step/list", json!({})).await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);

    // The task-engine's errors come back as they were.
    let reply = app.call(Method::POST, "/action/999999", json!({})).await;
    assert_eq!(reply.status.as_u16(), 404, "{}", reply.body);
    assert_eq!(reply.body["code"], 404);
    let reply = app
        .call(Method::POST, "/task_tpl/create", json!({"desc": "no name"}))
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);

    // The orchestrator's own routes still answer from here, with the same client.
    assert_eq!(c.clusters(1, 10).await.unwrap().query_count, 0);
    // Schedules are the orchestrator's own: answered here, not forwarded.
    let reply = app.call(Method::POST, "/task/saveTask", json!({})).await;
    assert_error(&reply, 400, "pool_id");

    // A task-engine gone away: a clear 503 in the envelope.
    engine.stop().await;
    let reply = app.call(Method::POST, "/action/list", json!({})).await;
    assert_error(&reply, 503, "task-engine unreachable");
    app.stop().await;
}

async fn not_configured(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/task/list",
        "/task_tpl/list",
        "/remote_step/1",
        "/actimpl/list",
    ] {
        let reply = app.call(Method::GET, path, json!({})).await;
        assert_error(&reply, 503, "not configured");
    }
    app.stop().await;
}

kit::on_both_backends!(
    forwards_task_engine_routes,
    not_configured,
    the_orchestrators_own_document_is_served_not_forwarded
);

async fn the_orchestrators_own_document_is_served_not_forwarded(backend: TestBackend) {
    let (url, engine, _engine_db) = task_engine(backend).await;
    let app = TestApp::spawn_with(backend, &url).await;
    let doc = kit::testing::openapi_document(app.client.transport().base_url()).await;
    assert_eq!(doc["info"]["title"], "DCP orchestrator");
    assert!(doc["paths"]["/pool/expand/{id}"]["post"].is_object());
    drop(engine);
}

/// A stand-in task-engine that answers with what it received.
async fn echo(req: actix_web::HttpRequest, body: actix_web::web::Bytes) -> actix_web::HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    actix_web::HttpResponse::Accepted().json(json!({
        "code": 0,
        "msg": "success",
        "data": {
            "method": req.method().as_str(),
            "path": req.path(),
            "query": req.query_string(),
            "body": String::from_utf8_lossy(&body),
            "content_type": header("content-type"),
            "request_id": header("x-request-id"),
        }
    }))
}

async fn passes_everything_on(backend: TestBackend) {
    let server = actix_web::HttpServer::new(|| {
        actix_web::App::new().default_service(actix_web::web::to(echo))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("echo server binds");
    let addr = server.addrs()[0];
    let stand_in = serve_at(server.run(), format!("http://{addr}"));
    let app = TestApp::spawn_with(backend, &stand_in.url).await;

    let reply = app
        .client
        .with_request_id("trace-42")
        .call_raw(
            Method::DELETE,
            "/task/7?verbose=1",
            Encoding::Json,
            &json!({"a": [1, 2]}),
        )
        .await
        .unwrap();
    assert_eq!(reply.status.as_u16(), 202, "the status as it came");
    let seen = &reply.body["data"];
    assert_eq!(seen["method"], "DELETE");
    assert_eq!(seen["path"], "/task/7");
    assert_eq!(seen["query"], "verbose=1");
    assert_eq!(seen["body"], "{\"a\":[1,2]}");
    assert_eq!(seen["request_id"], "trace-42");

    let reply = app
        .client
        .call_raw(
            Method::POST,
            "/remote_step/create",
            Encoding::Form,
            &json!({"name": "n", "actions": "[\"x\"]"}),
        )
        .await
        .unwrap();
    let seen = &reply.body["data"];
    assert_eq!(seen["body"], "actions=%5B%22x%22%5D&name=n");
    assert!(seen["content_type"]
        .as_str()
        .unwrap()
        .starts_with("application/x-www-form-urlencoded"));
    assert!(
        !seen["request_id"].as_str().unwrap().is_empty(),
        "an id is always passed on"
    );

    // A body the orchestrator cannot read is refused before forwarding.
    let reply = app
        .client
        .post_bytes(
            "/task/create",
            "application/json",
            b"{\"broken\": ".to_vec(),
        )
        .await
        .unwrap();
    assert_error(&reply, 400, "unreadable request body");
    app.stop().await;
    stand_in.stop().await;
}

kit::on_both_backends!(passes_everything_on);
