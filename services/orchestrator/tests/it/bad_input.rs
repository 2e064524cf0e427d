use client::Method;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_error, TestApp};

async fn refused_in_the_envelope(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let (cluster, service, pool) = app.tree().await;

    // Missing fields.
    let cases = [
        ("/cluster/create", json!({"desc": "d"}), "`name`"),
        (
            "/service/create",
            json!({"name": "s", "cluster_id": cluster}),
            "`docker_image`",
        ),
        (
            "/service/create",
            json!({"name": "s", "docker_image": "i"}),
            "`cluster_id`",
        ),
        (
            "/pool/create",
            json!({"name": "p", "sd_id": 1, "service_id": service}),
            "`vm_type`",
        ),
        (
            "/pool/create",
            json!({"name": "p", "vm_type": 1, "sd_id": 1}),
            "`service_id`",
        ),
        // Unknown references, wrong types, huge and negative values, strays.
        (
            "/service/create",
            json!({"name": "s", "docker_image": "i", "cluster_id": 999999}),
            "cluster 999999",
        ),
        (
            "/pool/create",
            json!({"name": "p", "vm_type": 1, "sd_id": 1, "service_id": 999999}),
            "service 999999",
        ),
        (
            "/pool/create",
            json!({"name": "p", "vm_type": "x", "sd_id": 1, "service_id": service}),
            "`vm_type`",
        ),
        (
            "/pool/create",
            json!({"name": "p", "vm_type": 1, "sd_id": "99999999999999999999999", "service_id": service}),
            "`sd_id`",
        ),
        (
            "/pool/create",
            json!({"name": "p", "vm_type": 1, "sd_id": 1e300, "service_id": service}),
            "`sd_id`",
        ),
        (
            "/pool/create",
            json!({"name": "p", "vm_type": -1, "sd_id": 1, "service_id": service}),
            "`vm_type`",
        ),
        (
            "/service/create",
            json!({"name": "s", "docker_image": "i", "cluster_id": [1]}),
            "`cluster_id`",
        ),
        (
            "/cluster/create",
            json!({"name": "x".repeat(2000)}),
            "`name`",
        ),
        (
            "/cluster/create",
            json!({"name": "n", "nmae": "typo"}),
            "nmae",
        ),
        ("/cluster/list", json!({"page": 0}), "`page`"),
        ("/cluster/list", json!({"page_size": 100000}), "`page_size`"),
        ("/cluster/list", json!({"page": "abc"}), "`page`"),
    ];
    for (path, body, says) in cases {
        let reply = app.call(Method::POST, path, body.clone()).await;
        assert_error(&reply, 400, says);
        assert!(reply.body.get("data").is_some(), "{path} {body}");
    }

    // Non-numeric, zero, negative and huge ids in paths.
    for id in ["abc", "0", "-1", "99999999999999999999999", "1.5"] {
        for path in [
            format!("/cluster/{id}"),
            format!("/cluster/update/{id}"),
            format!("/cluster/delete/{id}"),
            format!("/cluster/{id}/list_services"),
            format!("/service/{id}"),
            format!("/service/delete/{id}"),
            format!("/service/{id}/list_pools"),
            format!("/pool/{id}"),
            format!("/pool/update/{id}"),
            format!("/pool/delete/{id}"),
            format!("/pool/{id}/list_nodes"),
            format!("/pool/{id}/add_nodes"),
            format!("/pool/{id}/remove_nodes"),
        ] {
            let reply = app.call(Method::POST, &path, json!({})).await;
            assert_error(&reply, 400, "invalid id");
        }
    }
    // Unknown ids.
    for path in [
        "/cluster/999999",
        "/cluster/update/999999",
        "/cluster/delete/999999",
        "/cluster/999999/list_services",
        "/service/999999",
        "/service/delete/999999",
        "/service/999999/list_pools",
        "/pool/999999",
        "/pool/update/999999",
        "/pool/delete/999999",
    ] {
        let reply = app.call(Method::POST, path, json!({})).await;
        assert_error(&reply, 404, "999999 not found");
    }
    // An `id` parameter contradicting the path.
    let reply = app
        .call(
            Method::POST,
            &format!("/pool/update/{pool}"),
            json!({"id": pool + 1}),
        )
        .await;
    assert_error(&reply, 400, "differs");

    // Unreadable bodies.
    for (ctype, body) in [
        ("application/json", b"{\"name\": ".to_vec()),
        ("application/json", b"[1,2]".to_vec()),
        ("application/json", vec![0xff, 0xfe]),
    ] {
        let reply = app
            .client
            .post_bytes("/cluster/create", ctype, body)
            .await
            .expect("an answer");
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
        assert_eq!(reply.body["code"], 400);
    }
    // Unknown routes and methods.
    let reply = app.call(Method::POST, "/nowhere", json!({})).await;
    assert_error(&reply, 404, "no such route");
    let reply = app.call(Method::PUT, "/cluster/list", json!({})).await;
    assert_error(&reply, 405, "not allowed");

    // Nothing was created by any of it.
    assert_eq!(app.client.clusters(1, 10).await.unwrap().query_count, 1);
    assert_eq!(
        app.client
            .service_pools(service, 1, 10)
            .await
            .unwrap()
            .query_count,
        1
    );
    app.stop().await;
}

kit::on_both_backends!(refused_in_the_envelope);
