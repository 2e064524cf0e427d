//! Bad input for every route of the flows, the registry targets, the events and the
//! schedules: a clear 4xx in the envelope, nothing created.

use client::Method;
use kit::testing::TestBackend;
use serde_json::json;

use crate::flows::pool;
use crate::support::{assert_error, TestApp};

kit::on_both_backends!(
    registry_targets_round_trip_and_refuse_bad_input,
    expand_shrink_and_deploy_refuse_bad_input,
    task_events_and_the_scheduler_status_answer,
);

async fn registry_targets_round_trip_and_refuse_bad_input(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let id = app
        .ok(
            "/sd/create",
            json!({"zkidc": "qa", "service": "web", "port": "8080"}),
        )
        .await["id"]
        .as_i64()
        .expect("an id");
    app.ok(&format!("/sd/update/{id}"), json!({"port": 9090}))
        .await;
    let reply = app.call(Method::GET, "/sd/list", json!({})).await;
    assert_eq!(reply.body["query_count"], 1, "{}", reply.body);
    assert_eq!(
        reply.body["data"][0],
        json!({"id": id, "zkidc": "qa", "service": "web", "port": 9090})
    );

    for (params, needle) in [
        (json!({"service": "web", "port": 1}), "zkidc"),
        (json!({"zkidc": "qa", "port": 1}), "service"),
        (json!({"zkidc": "qa", "service": "web"}), "port"),
        (json!({"zkidc": "qa", "service": "web", "port": 0}), "port"),
        (
            json!({"zkidc": "qa", "service": "web", "port": 70000}),
            "port",
        ),
        (
            json!({"zkidc": "qa", "service": "a/b", "port": 1}),
            "service",
        ),
        (
            json!({"zkidc": "q a", "service": "web", "port": 1}),
            "zkidc",
        ),
        (
            json!({"zkidc": "qa", "service": "web", "port": 1, "colour": 1}),
            "colour",
        ),
    ] {
        let reply = app.call(Method::POST, "/sd/create", params).await;
        assert_error(&reply, 400, needle);
    }
    assert_error(
        &app.call(Method::POST, "/sd/update/999", json!({"port": 1}))
            .await,
        404,
        "999",
    );
    assert_error(
        &app.call(Method::POST, "/sd/update/abc", json!({})).await,
        400,
        "abc",
    );
    assert_error(
        &app.call(Method::POST, "/sd/delete/999", json!({})).await,
        404,
        "999",
    );

    // In use by a pool: refused; free again: deleted.
    let p = pool(&app, json!({"sd_id": id})).await;
    assert_error(
        &app.call(Method::POST, &format!("/sd/delete/{id}"), json!({}))
            .await,
        409,
        "used by",
    );
    app.client
        .update_pool(p, &json!({"sd_id": 0}))
        .await
        .expect("pool updated");
    app.ok(&format!("/sd/delete/{id}"), json!({})).await;
    app.stop().await;
}

async fn expand_shrink_and_deploy_refuse_bad_input(backend: TestBackend) {
    // A task-engine address nobody answers: every refusal below comes before any call to it.
    let closed = kit::testing::sshd::free_port();
    let app = TestApp::spawn_with(backend, &format!("http://127.0.0.1:{closed}")).await;
    let full = pool(
        &app,
        json!({"expand_tpl": 1, "shrink_tpl": 2, "deploy_tpl": 3}),
    )
    .await;
    app.client
        .add_nodes(full, &["10.1.0.1"])
        .await
        .expect("a node");
    let bare = app
        .client
        .create_pool(&json!({"name": "bare", "vm_type": 1, "sd_id": 0, "service_id": app.client.pool(full).await.expect("pool").service_id}))
        .await
        .expect("pool without templates");
    let unknown_sd = app
        .client
        .create_pool(&json!({"name": "lost", "vm_type": 1, "sd_id": 42, "expand_tpl": 1, "service_id": app.client.pool(full).await.expect("pool").service_id}))
        .await
        .expect("pool with an unknown target");

    let cases = [
        (format!("/pool/expand/{full}"), json!({}), 400, "num"),
        (
            format!("/pool/expand/{full}"),
            json!({"num": 0}),
            400,
            "num",
        ),
        (
            format!("/pool/expand/{full}"),
            json!({"num": 1001}),
            400,
            "num",
        ),
        (
            format!("/pool/expand/{full}"),
            json!({"num": "two"}),
            400,
            "num",
        ),
        (
            format!("/pool/expand/{full}"),
            json!({"num": 1, "params": [1]}),
            400,
            "params",
        ),
        (
            format!("/pool/expand/{full}"),
            json!({"num": 1, "colour": 1}),
            400,
            "colour",
        ),
        ("/pool/expand/0".to_string(), json!({"num": 1}), 400, "id"),
        (
            "/pool/expand/999".to_string(),
            json!({"num": 1}),
            404,
            "pool 999",
        ),
        (
            format!("/pool/expand/{bare}"),
            json!({"num": 1}),
            400,
            "expand_tpl",
        ),
        (
            format!("/pool/expand/{unknown_sd}"),
            json!({"num": 1}),
            400,
            "sd_id 42",
        ),
        (format!("/pool/shrink/{full}"), json!({}), 400, "nodes"),
        (
            format!("/pool/shrink/{full}"),
            json!({"nodes": ["10.1.0.300"]}),
            400,
            "10.1.0.300",
        ),
        (
            format!("/pool/shrink/{full}"),
            json!({"nodes": ["10.9.9.9"]}),
            400,
            "not in pool",
        ),
        (
            format!("/pool/shrink/{bare}"),
            json!({"nodes": ["10.1.0.1"]}),
            400,
            "not in pool",
        ),
        (
            format!("/pool/deploy/{full}"),
            json!({"tag": "v1"}),
            400,
            "max_num",
        ),
        (
            format!("/pool/deploy/{full}"),
            json!({"tag": "v1", "max_num": 0}),
            400,
            "max_num",
        ),
        (
            format!("/pool/deploy/{full}"),
            json!({"max_num": 1}),
            400,
            "tag",
        ),
        (
            format!("/pool/deploy/{full}"),
            json!({"max_num": 1, "tag": " "}),
            400,
            "tag",
        ),
        (
            format!("/pool/deploy/{bare}"),
            json!({"max_num": 1, "tag": "v1"}),
            400,
            "deploy_tpl",
        ),
    ];
    for (path, params, status, needle) in cases {
        let reply = app.call(Method::POST, &path, params.clone()).await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{path} {params}: {}",
            reply.body
        );
        assert_error(&reply, status, needle);
    }
    // A pool with no node has nothing to deploy.
    let empty = app
        .client
        .create_pool(&json!({"name": "empty", "vm_type": 1, "sd_id": 0, "deploy_tpl": 3, "service_id": app.client.pool(full).await.expect("pool").service_id}))
        .await
        .expect("empty pool");
    assert_error(
        &app.call(
            Method::POST,
            &format!("/pool/deploy/{empty}"),
            json!({"max_num": 1, "tag": "v1"}),
        )
        .await,
        400,
        "no node",
    );
    // Nothing was created or changed by any of these.
    let nodes = app.nodes(full).await;
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].state, "ok");
    assert!(app.nodes(bare).await.is_empty());
    assert!(app.nodes(unknown_sd).await.is_empty());
    app.stop().await;
}

async fn task_events_and_the_scheduler_status_answer(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    // An event for a task this orchestrator did not start is answered and ignored.
    app.ok(
        "/internal/task_event",
        json!({"fid": 12, "state": 1, "node_id": null}),
    )
    .await;
    app.ok(
        "/internal/task_event",
        json!({"fid": "12", "state": 2, "node_id": 40, "extra": 1}),
    )
    .await;
    for params in [
        json!({}),
        json!({"fid": 0}),
        json!({"fid": "x"}),
        json!({"fid": -3}),
    ] {
        let reply = app.call(Method::POST, "/internal/task_event", params).await;
        assert_error(&reply, 400, "fid");
    }
    // Without ZooKeeper this replica is alone and leads.
    let status = app.scheduler().await;
    assert!(status.leader);
    app.stop().await;
}
