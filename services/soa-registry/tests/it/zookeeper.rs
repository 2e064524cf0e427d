//! What only real ZooKeeper can show: the znodes as another client sees them, members that
//! other ZooKeeper clients register, and chroots of one ensemble kept apart.

use std::collections::BTreeMap;

use serde_json::json;
use wire::soa_registry::{Member, STATUS_UNPARSABLE};
use zookeeper_client as zk;

use crate::support::{direct_client, shared, unique_chroot, TestApp, KEY};

async fn spawn_on(root: &str) -> TestApp {
    let zk = shared();
    let zkidcs: BTreeMap<String, String> = [
        ("qa".to_string(), zk.connect(&format!("{root}/qa"))),
        ("yz".to_string(), zk.connect(&format!("{root}/yz"))),
    ]
    .into_iter()
    .collect();
    TestApp::spawn_with(zkidcs, |_| {}).await
}

#[actix_web::test]
async fn the_znode_is_serverset_json_read_back_directly() {
    let root = unique_chroot("format");
    let app = spawn_on(&root).await;
    app.client
        .add_service("ip2city.http")
        .await
        .expect("add service");
    let (key, _) = app
        .client
        .add_server("ip2city.http", "192.168.1.1", 8080)
        .await
        .expect("add server");

    // Another client, rooted at the ensemble's root: the full path includes the zkidc's chroot.
    let direct = direct_client(&shared().connect("")).await;
    let path = format!("{root}/qa/soa/services/ip2city.http/{key}");
    let (data, stat) = direct
        .get_data(&path)
        .await
        .expect("the member znode exists");
    assert_eq!(
        String::from_utf8(data.clone()).expect("UTF-8"),
        r#"{"serviceEndpoint":{"host":"192.168.1.1","port":8080},"additionalEndpoints":{},"status":"ALIVE"}"#
    );
    // ZooKeeper's own command-line client reads the same bytes.
    let zkcli = zkcli_get(shared().port, &path).await;
    assert_eq!(zkcli.as_bytes(), data.as_slice(), "zkCli.sh get {path}");
    let member: Member = serde_json::from_slice(&data).expect("a ServerSet member");
    assert_eq!(member.service_endpoint.port, 8080);
    assert_eq!(
        stat.ephemeral_owner, 0,
        "admin-added members are persistent"
    );
    let services = direct
        .list_children(&format!("{root}/qa/soa/services"))
        .await
        .expect("the services folder");
    assert_eq!(services, ["ip2city.http"]);
    // Nothing leaked into the other zkidc's chroot.
    assert_eq!(
        direct
            .check_stat(&format!("{root}/yz/soa/services/ip2city.http"))
            .await,
        Ok(None)
    );
}

#[actix_web::test]
async fn members_registered_by_other_clients_are_listed() {
    let root = unique_chroot("foreign");
    let app = spawn_on(&root).await;
    app.client.add_service("hello").await.expect("add service");
    let (ours, _) = app
        .client
        .add_server("hello", "10.0.0.1", 80)
        .await
        .expect("add server");

    // A ServerSet client: an ephemeral sequential member, written with the original admin's
    // capitalised keys; a member whose data is garbage; a child that is not a member.
    let other = direct_client(&shared().connect(&format!("{root}/qa"))).await;
    let ephemeral = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
    let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let (_, sequence) = other
        .create(
            "/soa/services/hello/member_",
            br#"{"ServiceEndpoint":{"Host":"10.0.0.7","Port":9000},"AdditionalEndpoints":{},"Status":"Alive","Shard":2}"#,
            &ephemeral,
        )
        .await
        .expect("ephemeral member");
    let theirs = format!("member_{sequence}");
    let (_, sequence) = other
        .create("/soa/services/hello/member_", b"\x00garbage", &ephemeral)
        .await
        .expect("garbage member");
    let garbage = format!("member_{sequence}");
    other
        .create("/soa/services/hello/config", b"{}", &persistent)
        .await
        .expect("a non-member child");

    // The service's view of `hello` was filled by addserver; the watch it left must bring the
    // other client's changes in (within moments: ZooKeeper notifies asynchronously).
    let servers = wait_for(&app, "hello", |servers| servers.len() == 3).await;
    assert_eq!(
        servers[0],
        json!({"host": "10.0.0.1", "port": 80, "key": ours, "status": "ALIVE"})
    );
    assert_eq!(
        servers[1],
        json!({"host": "10.0.0.7", "port": 9000, "key": theirs, "status": "ALIVE", "shard": 2})
    );
    assert_eq!(servers[2]["key"], json!(garbage));
    assert_eq!(servers[2]["status"], json!(STATUS_UNPARSABLE));
    assert!(
        servers[2]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not JSON"),
        "{}",
        servers[2]
    );

    // A change of a member's data is seen too (the data watch).
    other
        .set_data(
            &format!("/soa/services/hello/{theirs}"),
            br#"{"serviceEndpoint":{"host":"10.0.0.7","port":9000},"additionalEndpoints":{},"status":"DEAD"}"#,
            None,
        )
        .await
        .expect("set data");
    let servers = wait_for(&app, "hello", |servers| servers[1]["status"] == "DEAD").await;
    assert_eq!(servers[1]["key"], json!(theirs));

    // The same host:port as a foreign member is that member.
    let (key, existed) = app
        .client
        .add_server("hello", "10.0.0.7", 9000)
        .await
        .expect("add");
    assert_eq!((key.as_str(), existed), (theirs.as_str(), true));

    // The other client's session ends: its ephemeral members go, ours stays.
    drop(other);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let servers = app.client.server_list("hello").await.expect("list");
        if servers.len() == 1 {
            assert_eq!(servers[0].key, ours);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ephemeral members outlived their session: {servers:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // force=1 removes the non-member child too.
    app.client
        .del_service("hello", true)
        .await
        .expect("forced delete");
    assert_eq!(
        app.client.service_list().await.expect("list"),
        Vec::<String>::new()
    );
}

/// Polls `serverlist/` until `done` holds (at most 5 s) and returns the servers.
async fn wait_for(
    app: &TestApp,
    service: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let reply = app
            .call(
                "/serverlist/",
                &[("key", KEY), ("zkidc", "qa"), ("destName", service)],
            )
            .await;
        let servers = reply.body["servers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if done(&servers) {
            return servers;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serverlist did not follow ZooKeeper within 5 s: {}",
            reply.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

const ZKCLI: &str = "/usr/share/zookeeper/bin/zkCli.sh";

/// `zkCli.sh get PATH`: the node's data is the last line it prints.
async fn zkcli_get(port: u16, path: &str) -> String {
    assert!(
        std::path::Path::new(ZKCLI).exists(),
        "{ZKCLI} is missing: apt-get install zookeeper"
    );
    let server = format!("127.0.0.1:{port}");
    let path = path.to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(ZKCLI)
            .args(["-server", &server, "get", &path])
            .output()
    })
    .await
    .expect("the zkCli.sh task")
    .expect("zkCli.sh runs");
    assert!(output.status.success(), "zkCli.sh failed: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}
