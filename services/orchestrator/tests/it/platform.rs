//! Expand and shrink across the whole platform: the task-engine's built-in steps against real
//! cloud-portal (hosts 127.0.0.2..), soa-registry (embedded store) and cmdb, all in-process.

use std::collections::BTreeSet;

use kit::testing::TestBackend;
use serde_json::json;
use testpeers::Peers;
use wire::orchestrator::NODE_SUCCESS;

use crate::engine::Engine;
use crate::flows::pool;
use crate::support::TestApp;

kit::on_both_backends!(
    expand_by_three_gives_three_registered_nodes_with_ips_and_shrink_gives_one_back
);

const SERVICE: &str = "dcp.oc.web";

async fn expand_by_three_gives_three_registered_nodes_with_ips_and_shrink_gives_one_back(
    backend: TestBackend,
) {
    let dir = tempfile::tempdir().expect("a temp folder");

    // cloud-portal with three hosts of one slot each, soa-registry, cmdb; a task-engine
    // calling them.
    let peers = Peers::start(backend, 3).await;
    let image = peers.image_id;
    let cp_service = peers.cloud_portal_service();
    let soa = peers.soa_registry_client();
    let cmdb = peers.cmdb_client();
    let engine = Engine::spawn_with(backend, |config| peers.configure(config)).await;
    engine
        .remote_step("write_tag", "echo {{tag}} > {{dir}}/{{ip}}.oc")
        .await;
    let params = json!({"dir": dir.path().display().to_string()});
    let expand_tpl = engine
        .template(
            "expand",
            &["create_vm", "write_tag", "register", "record_ci"],
            params.clone(),
        )
        .await;
    let shrink_tpl = engine
        .template("shrink", &["unregister", "remove_ci", "return_vm"], params)
        .await;

    let app = TestApp::spawn_with(backend, &engine.url).await;
    let sd = app
        .ok(
            "/sd/create",
            json!({"zkidc": testpeers::ZKIDC, "service": SERVICE, "port": 8080}),
        )
        .await["id"]
        .as_i64()
        .expect("a target id");
    let id = pool(
        &app,
        json!({"vm_type": image, "sd_id": sd, "expand_tpl": expand_tpl, "shrink_tpl": shrink_tpl}),
    )
    .await;

    let fid = app.client.expand(id, 3).await.expect("expand started");
    let nodes = app
        .wait_nodes(id, "expanded", |n| {
            n.len() == 3 && n.iter().all(|n| n.status != 0 && n.status != 2)
        })
        .await;
    assert!(nodes.iter().all(|n| n.status == NODE_SUCCESS), "{nodes:?}");
    let ips: BTreeSet<String> = nodes.iter().map(|n| n.ip.clone()).collect();
    let want: BTreeSet<String> = (2..5).map(|n| format!("127.0.0.{n}")).collect();
    assert_eq!(ips, want);
    let instances = cp_service.my_instances(100, 1).await.expect("instances");
    assert_eq!(instances.len(), 3);
    for node in &nodes {
        assert!(!node.vm_id.is_empty(), "{node:?}");
        assert_eq!(node.task_id, fid);
        assert_eq!(node.tag, "myregistry/myweb:1.0");
        let written = std::fs::read_to_string(dir.path().join(format!("{}.oc", node.ip)))
            .expect("the remote step ran on the new node");
        assert_eq!(written.trim(), "myregistry/myweb:1.0");
    }
    let servers = soa.server_list(SERVICE).await.expect("servers");
    let registered: BTreeSet<String> = servers.iter().map(|s| s.host.clone()).collect();
    assert_eq!(registered, want);
    assert!(servers.iter().all(|s| s.port == 8080));
    let found = cmdb
        .search(json!({"_type": "dcp_node", "count": 100}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 3);

    // Shrink one: unregistered, its CI and instance gone, then it leaves the pool.
    let gone = nodes[0].ip.clone();
    let shrink = app
        .client
        .shrink(id, &[&gone])
        .await
        .expect("shrink started");
    assert_ne!(shrink, fid);
    let left = app.wait_nodes(id, "shrunk", |n| n.len() == 2).await;
    assert!(left.iter().all(|n| n.ip != gone));
    let servers = soa.server_list(SERVICE).await.expect("servers");
    assert_eq!(servers.len(), 2, "{servers:?}");
    assert!(servers.iter().all(|s| s.host != gone));
    let found = cmdb
        .search(json!({"_type": "dcp_node", "count": 100}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 2);
    app.stop().await;
    engine.stop().await;
}
