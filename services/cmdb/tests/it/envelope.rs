//! Every refusal is the seed's `{"message": ...}` with its status, whatever went wrong.

use client::Method;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::TestApp;

kit::on_both_backends!(malformed_requests_get_a_json_message);

async fn malformed_requests_get_a_json_message(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for (method, path, status, named) in [
        (Method::GET, "/ci/abc", 400, "ci_id"),
        (Method::PUT, "/attributes/abc", 400, "key"),
        (Method::GET, "/cirelations/x/second_cis", 400, "id"),
        (
            Method::GET,
            "/no/such/route",
            404,
            "/api/v0.1/no/such/route",
        ),
        (Method::PATCH, "/ci", 405, "PATCH"),
        (Method::GET, "/citypes/query", 400, "type"),
    ] {
        let reply = app
            .admin
            .call_raw(method.clone(), path, &json!({}))
            .await
            .expect("the service answers");
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path}: {}",
            reply.body
        );
        assert!(message.contains(named), "{method} {path}: {message}");
    }
}
