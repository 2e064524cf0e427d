use client::Method;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_error, TestApp};

async fn cluster_crud(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    // The seed's example body, answered with the new id as `data`.
    let reply = app
        .call(
            Method::POST,
            "/cluster/create",
            json!({"name":"SamplePlatform", "desc":"Sample Platform", "biz": "平台"}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200);
    assert_eq!(reply.body["code"], 0);
    assert_eq!(reply.body["msg"], "success");
    let first = reply.body["data"].as_i64().expect("id as data");
    let second = c.create_cluster("other", "", "1").await.unwrap();
    assert!(second > first);

    let list = c.clusters(1, 1).await.unwrap();
    assert_eq!(list.query_count, 2);
    assert_eq!(list.data.len(), 1);
    assert_eq!(list.data[0].name, "SamplePlatform");
    assert_eq!(list.data[0].biz, "平台");
    let page2 = c.clusters(2, 1).await.unwrap();
    assert_eq!(page2.data[0].id, second);
    // A page far past the end is empty, not an error.
    let far = c.clusters(1_000_000_000_000_000, 1000).await.unwrap();
    assert!(far.data.is_empty());
    assert_eq!(far.query_count, 2);

    // Page parameters from query, form or JSON, and a GET with a JSON body too.
    for encoding in [
        client::Encoding::Query,
        client::Encoding::Form,
        client::Encoding::Json,
    ] {
        let reply = c
            .call_raw(
                Method::POST,
                "/cluster/list",
                encoding,
                &json!({"page": 2, "page_size": 1}),
            )
            .await
            .unwrap();
        assert_eq!(reply.body["page"], 2, "{encoding:?}");
        assert_eq!(reply.body["page_size"], 1);
        assert_eq!(reply.body["query_count"], 2);
    }
    let reply = app
        .call(Method::GET, "/cluster/list", json!({"page_size": 1}))
        .await;
    assert_eq!(reply.body["data"].as_array().unwrap().len(), 1);

    c.update_cluster(first, &json!({"desc": "changed"}))
        .await
        .unwrap();
    let got = c.cluster(first).await.unwrap();
    assert_eq!(got.name, "SamplePlatform");
    assert_eq!(got.desc, "changed");
    let reply = app
        .call(
            Method::POST,
            &format!("/cluster/update/{first}"),
            json!({"name":"n", "desc":"d", "biz": "b"}),
        )
        .await;
    assert_eq!(reply.body["data"], "");
    let got = c.cluster(first).await.unwrap();
    assert_eq!(
        (got.name.as_str(), got.desc.as_str(), got.biz.as_str()),
        ("n", "d", "b")
    );

    c.delete_cluster(second).await.unwrap();
    let reply = app
        .call_empty(Method::POST, &format!("/cluster/{second}"))
        .await;
    assert_error(&reply, 404, "not found");
    let reply = app
        .call_empty(Method::POST, &format!("/cluster/delete/{second}"))
        .await;
    assert_error(&reply, 404, "not found");
    app.stop().await;
}

async fn services_and_pools(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    let (cluster, service, pool) = app.tree().await;

    // The seed's shapes: `{"id": n}` for a new service or pool.
    let reply = app
        .call(
            Method::GET,
            "/service/create",
            json!({"name":"s2","desc":"","service_type":"Java","docker_image":"img:1","cluster_id":cluster.to_string()}),
        )
        .await;
    let service2 = reply.body["data"]["id"].as_i64().expect("{\"id\":n}");

    let got = c.service(service).await.unwrap();
    assert_eq!(got.docker_image, "myregistry/myweb:1.0");
    assert_eq!(got.service_type, "Java");
    assert_eq!(got.cluster_id, cluster);
    let services = c.cluster_services(cluster, 1, 10).await.unwrap();
    assert_eq!(services.query_count, 2);
    assert_eq!(services.data[1].id, service2);

    let pool2 = c
        .create_pool(
            &json!({"name":"p2","desc":"","vm_type":3,"sd_id":4,"service_id":service,
            "expand_tpl": 7, "shrink_tpl": 8, "deploy_tpl": 9}),
        )
        .await
        .unwrap();
    c.add_nodes(pool2, &["10.0.0.1", "10.0.0.2"]).await.unwrap();
    let pools = c.service_pools(service, 1, 10).await.unwrap();
    assert_eq!(pools.query_count, 2);
    assert_eq!(pools.data[0].id, pool);
    assert_eq!(pools.data[0].node_count, 0);
    assert_eq!(pools.data[1].node_count, 2);
    let got = c.pool(pool2).await.unwrap();
    assert_eq!(
        (
            got.vm_type,
            got.sd_id,
            got.expand_tpl,
            got.shrink_tpl,
            got.deploy_tpl,
            got.node_count
        ),
        (3, 4, 7, 8, 9, 2)
    );

    c.update_pool(pool2, &json!({"name":"renamed","vm_type":5,"deploy_tpl":0}))
        .await
        .unwrap();
    let got = c.pool(pool2).await.unwrap();
    assert_eq!(
        (got.name.as_str(), got.vm_type, got.sd_id, got.deploy_tpl),
        ("renamed", 5, 4, 0)
    );
    let reply = app
        .call(
            Method::DELETE,
            &format!("/pool/update/{pool2}"),
            json!({"desc":"via DELETE"}),
        )
        .await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);

    // Nothing lost silently: parents with children stay.
    let reply = app
        .call_empty(Method::POST, &format!("/cluster/delete/{cluster}"))
        .await;
    assert_error(&reply, 409, "still has 2 service(s)");
    let reply = app
        .call_empty(Method::DELETE, &format!("/service/delete/{service}"))
        .await;
    assert_error(&reply, 409, "still has 2 pool(s)");
    let reply = app
        .call_empty(Method::DELETE, &format!("/pool/delete/{pool2}"))
        .await;
    assert_error(&reply, 409, "still has 2 node(s)");
    assert_eq!(c.pool(pool2).await.unwrap().node_count, 2);

    // Emptied bottom-up, everything goes.
    c.remove_nodes(pool2, &["10.0.0.1", "10.0.0.2"])
        .await
        .unwrap();
    c.delete_pool(pool2).await.unwrap();
    c.delete_pool(pool).await.unwrap();
    let reply = app
        .call_empty(Method::DELETE, &format!("/service/delete/{service}"))
        .await;
    assert_eq!(reply.body["data"], json!({}));
    c.delete_service(service2).await.unwrap();
    c.delete_cluster(cluster).await.unwrap();
    assert_eq!(c.clusters(1, 10).await.unwrap().query_count, 0);
    app.stop().await;
}

kit::on_both_backends!(cluster_crud, services_and_pools);
