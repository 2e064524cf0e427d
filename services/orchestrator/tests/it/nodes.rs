use client::{Encoding, Method};
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_error, TestApp};

async fn add_list_search_remove(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    let (_, service, pool) = app.tree().await;
    let other = c
        .create_pool(&json!({"name":"p2","desc":"","vm_type":1,"sd_id":1,"service_id":service}))
        .await
        .unwrap();

    // `nodes` as a JSON array, as a string holding one (the seed's example), and in a form.
    let ids = c
        .add_nodes(pool, &["10.85.41.166", "10.85.41.167"])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let reply = app
        .call(
            Method::POST,
            &format!("/pool/{pool}/add_nodes"),
            json!({"nodes": "[\"10.85.41.168\"]"}),
        )
        .await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    assert_eq!(reply.body["data"].as_array().unwrap().len(), 1);
    let reply = c
        .call_raw(
            Method::POST,
            &format!("/pool/{other}/add_nodes"),
            Encoding::Form,
            &json!({"nodes": "[\"10.85.41.170\"]"}),
        )
        .await
        .unwrap();
    assert_eq!(reply.body["code"], 0, "{}", reply.body);

    let nodes = c.pool_nodes(pool, 1, 2).await.unwrap();
    assert_eq!(nodes.query_count, 3);
    assert_eq!(nodes.data.len(), 2);
    assert_eq!(nodes.data[0].ip, "10.85.41.166");
    assert_eq!(nodes.data[0].id, ids[0]);
    assert_eq!(nodes.data[0].status, 1);
    assert_eq!(nodes.data[0].node_type, "manual");

    // An IP is in one pool at most; the whole request is refused.
    for target in [pool, other] {
        let reply = app
            .call(
                Method::POST,
                &format!("/pool/{target}/add_nodes"),
                json!({"nodes": ["10.85.41.200", "10.85.41.166"]}),
            )
            .await;
        assert_error(&reply, 409, "10.85.41.166");
    }
    let map = c
        .search_by_ip(&["10.85.41.166", "10.85.41.170", "10.85.41.200"])
        .await
        .unwrap();
    assert_eq!(map.len(), 2, "unknown IPs are left out: {map:?}");
    assert_eq!(map["10.85.41.166"], json!(pool));
    assert_eq!(map["10.85.41.170"], json!(other));

    // Invalid IPs are named.
    let reply = app
        .call(
            Method::POST,
            &format!("/pool/{pool}/add_nodes"),
            json!({"nodes": ["10.0.0.1", "10.0.0.999"]}),
        )
        .await;
    assert_error(&reply, 400, "10.0.0.999");
    let reply = app
        .call(Method::POST, "/pool/search_by_ip/10.0.0.1,bogus", json!({}))
        .await;
    assert_error(&reply, 400, "bogus");
    for nodes in [
        json!([]),
        json!(""),
        json!({"a": 1}),
        json!([1]),
        json!("[not json"),
    ] {
        let reply = app
            .call(
                Method::POST,
                &format!("/pool/{pool}/add_nodes"),
                json!({"nodes": nodes}),
            )
            .await;
        assert_error(&reply, 400, "nodes");
    }
    let reply = app
        .call(Method::POST, &format!("/pool/{pool}/add_nodes"), json!({}))
        .await;
    assert_error(&reply, 400, "missing parameter `nodes`");
    assert_eq!(c.pool_nodes(pool, 1, 10).await.unwrap().query_count, 3);

    // Removing IPs not in this pool removes nothing.
    let reply = app
        .call(
            Method::DELETE,
            &format!("/pool/{pool}/remove_nodes"),
            json!({"nodes": ["10.85.41.166", "10.85.41.170"]}),
        )
        .await;
    assert_error(&reply, 404, "10.85.41.170");
    assert_eq!(c.pool_nodes(pool, 1, 10).await.unwrap().query_count, 3);
    let reply = app
        .call(
            Method::DELETE,
            &format!("/pool/{pool}/remove_nodes"),
            json!({"nodes": "[\"10.85.41.166\",\"10.85.41.167\"]"}),
        )
        .await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let left = c.pool_nodes(pool, 1, 10).await.unwrap();
    assert_eq!(left.query_count, 1);
    assert_eq!(left.data[0].ip, "10.85.41.168");
    // A removed IP may be added again, elsewhere.
    c.add_nodes(other, &["10.85.41.166"]).await.unwrap();
    assert_eq!(c.pool(other).await.unwrap().node_count, 2);

    // Unknown pools.
    let reply = app
        .call(
            Method::POST,
            "/pool/999999/add_nodes",
            json!({"nodes": ["10.1.1.1"]}),
        )
        .await;
    assert_error(&reply, 404, "pool 999999 not found");
    let reply = app
        .call(Method::GET, "/pool/999999/list_nodes", json!({}))
        .await;
    assert_error(&reply, 404, "pool 999999 not found");
    app.stop().await;
}

kit::on_both_backends!(add_list_search_remove);
