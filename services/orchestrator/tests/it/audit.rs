//! Issue #13: every write of the orchestrator is in its trail with the verified actor and the
//! request id, listed by actor and time.

use client::{Encoding, Method};
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{TestApp, TESTER};

kit::on_both_backends!(writes_are_listed_by_their_verified_actor);

async fn writes_are_listed_by_their_verified_actor(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client.with_request_id("audit-req-1");
    let reply = client
        .call_raw(
            Method::POST,
            "/cluster/create",
            Encoding::Json,
            &json!({"name": "audited"}),
        )
        .await
        .expect("an answer");
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let id = reply.body["data"]["id"]
        .as_i64()
        .or_else(|| reply.body["data"].as_i64())
        .unwrap_or_else(|| panic!("an id: {}", reply.body));
    // A refused write leaves no record.
    let refused = app.call(Method::POST, "/cluster/create", json!({})).await;
    assert_eq!(refused.status.as_u16(), 400);
    app.ok(&format!("/cluster/update/{id}"), json!({"desc": "changed"}))
        .await;

    let mine = app
        .ok("/audit/list", json!({"actor": TESTER, "page_size": 50}))
        .await;
    let entries = mine.as_array().expect("a list");
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["POST /cluster/update/{id}", "POST /cluster/create"],
        "{mine}"
    );
    assert!(entries.iter().all(|e| e["actor"] == TESTER), "{mine}");
    assert_eq!(entries[0]["target"], format!("id={id}"));
    assert_eq!(entries[1]["request_id"], "audit-req-1");
    let by_request = app
        .ok("/audit/list", json!({"request_id": "audit-req-1"}))
        .await;
    assert_eq!(by_request.as_array().map(Vec::len), Some(1));
    let nobody = app.ok("/audit/list", json!({"actor": "nobody"})).await;
    assert_eq!(nobody.as_array().map(Vec::len), Some(0));
    let bad = app
        .call(Method::POST, "/audit/list", json!({"since": "yesterday"}))
        .await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.body);
}
