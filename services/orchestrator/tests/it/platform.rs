//! Expand and shrink across the whole platform: the task-engine's built-in steps against real
//! cloud-portal (hosts 127.0.0.2..), soa-registry (embedded store) and cmdb, all in-process.

use std::collections::BTreeSet;

use actix_web::dev::ServerHandle;
use client::{ClientConfig, CloudPortalClient, CmdbClient, SoaRegistryClient};
use kit::config::HttpConfig;
use kit::testing::{TestBackend, TestDatabase};
use serde_json::json;
use task_engine::config::{CloudPortalPeer, CmdbPeer, SoaRegistryPeer};
use wire::orchestrator::NODE_SUCCESS;

use crate::engine::Engine;
use crate::flows::pool;
use crate::support::TestApp;

kit::on_both_backends!(
    expand_by_three_gives_three_registered_nodes_with_ips_and_shrink_gives_one_back
);

const CP_ADMIN: &str = "cp-admin";
const CP_ADMIN_PASSWORD: &str = "cp-admin-password";
const CP_SERVICE: &str = "oc-service";
const CP_SERVICE_PASSWORD: &str = "oc-service-password";
const SOA_KEY: &str = "oc-it-key";
const CMDB_KEY: &str = "oc-it-cmdb-key";
const CMDB_SECRET: &str = "oc-it-cmdb-secret";
const SERVICE: &str = "dcp.oc.web";

struct Server(ServerHandle);

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.0.stop(false));
    }
}

fn serve(bound: kit::server::Bound) -> (Server, String) {
    let handle = bound.server.handle();
    actix_web::rt::spawn(bound.server);
    (Server(handle), format!("http://{}", bound.addr))
}

fn test_http() -> HttpConfig {
    HttpConfig {
        bind: "127.0.0.1:0".into(),
        workers: 1,
        shutdown_timeout_secs: 1,
    }
}

async fn expand_by_three_gives_three_registered_nodes_with_ips_and_shrink_gives_one_back(
    backend: TestBackend,
) {
    let dir = tempfile::tempdir().expect("a temp folder");

    // cloud-portal: three hosts of one slot each, an image, a service account.
    let cp_db = TestDatabase::create(backend, "oc_cp");
    let mut cp_config = cloud_portal::Config {
        http: test_http(),
        database: cp_db.config.clone(),
        ..cloud_portal::Config::default()
    };
    cp_config.demo.enabled = false;
    cp_config.admin.username = CP_ADMIN.into();
    cp_config.admin.password = CP_ADMIN_PASSWORD.into();
    cp_config.password_hash.memory_kib = 64;
    cp_config.password_hash.iterations = 1;
    let (_cp, cp_url) = serve(
        cloud_portal::start(cp_config)
            .await
            .expect("cloud-portal starts"),
    );
    let cp = CloudPortalClient::new(ClientConfig::new(&cp_url)).expect("client");
    let admin = cp.with_session(&cp.login(CP_ADMIN, CP_ADMIN_PASSWORD).await.expect("admin"));
    admin
        .add_user(CP_SERVICE, CP_SERVICE_PASSWORD, "service")
        .await
        .expect("a service account");
    for n in 2..5 {
        admin
            .add_host(&format!("127.0.0.{n}"), 22, 1)
            .await
            .expect("a host");
    }
    let image = admin
        .add_image("oc-it-image", None)
        .await
        .expect("an image")
        .id;
    let cp_service = cp.with_session(
        &cp.login(CP_SERVICE, CP_SERVICE_PASSWORD)
            .await
            .expect("the service account logs in"),
    );

    // soa-registry on its embedded store, zkidc `qa`.
    let soa_config = soa_registry::config::Config {
        http: test_http(),
        store: soa_registry::config::StoreConfig {
            data_dir: dir.path().join("soa").display().to_string(),
            ..soa_registry::config::Config::default().store
        },
        zkidcs: [("qa".to_string(), soa_registry::config::EMBEDDED.to_string())]
            .into_iter()
            .collect(),
        keys: vec![soa_registry::config::ApiKey {
            key: SOA_KEY.into(),
            owner: "orchestrator-it".into(),
            zkidcs: Vec::new(),
        }],
        ..soa_registry::config::Config::default()
    };
    let (_soa, soa_url) = serve(
        soa_registry::start(soa_config)
            .await
            .expect("soa-registry starts"),
    );
    let soa = SoaRegistryClient::new(ClientConfig::new(&soa_url), SOA_KEY, "qa").expect("client");

    // cmdb with a known admin key.
    let cmdb_db = TestDatabase::create(backend, "oc_cmdb");
    let mut cmdb_config = cmdb::Config {
        http: test_http(),
        database: cmdb_db.config.clone(),
        ..cmdb::Config::default()
    };
    cmdb_config.auth.admin_key = CMDB_KEY.into();
    cmdb_config.auth.admin_secret = CMDB_SECRET.into();
    cmdb_config.auth.credentials_file = dir.path().join("cmdb-admin.json").display().to_string();
    let (_cmdb, cmdb_url) = serve(cmdb::start(cmdb_config).await.expect("cmdb starts"));
    let cmdb = CmdbClient::new(ClientConfig::new(&cmdb_url))
        .expect("client")
        .with_key(CMDB_KEY, CMDB_SECRET);

    let engine = Engine::spawn_with(backend, |config| {
        config.peers.cloud_portal = CloudPortalPeer {
            url: cp_url.clone(),
            username: CP_SERVICE.into(),
            password: CP_SERVICE_PASSWORD.into(),
        };
        config.peers.soa_registry = SoaRegistryPeer {
            url: soa_url.clone(),
            key: SOA_KEY.into(),
            zkidc: "qa".into(),
        };
        config.peers.cmdb = CmdbPeer {
            url: cmdb_url.clone(),
            key: CMDB_KEY.into(),
            secret: CMDB_SECRET.into(),
        };
    })
    .await;
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
            json!({"zkidc": "qa", "service": SERVICE, "port": 8080}),
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
