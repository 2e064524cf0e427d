//! ZooKeeper going away while the service runs: prompt "ZooKeeper unavailable" answers, a
//! failing `/readyz`, and recovery by itself — after a restart, and after session expiry.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::{assert_failure, TestApp, ZooKeeper, KEY};

async fn wait_ready(app: &TestApp, ready: bool, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (status, _) = app
            .client
            .transport()
            .get_text("/readyz")
            .await
            .expect("/readyz answers");
        if (status.as_u16() == 200) == ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not become {} within {within:?} (HTTP {status})",
            if ready { "ready" } else { "unavailable" }
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn zookeeper_outages_are_survived() {
    // Its own ZooKeeper: this test stops it.
    let mut zk = ZooKeeper::start();
    let zkidcs: BTreeMap<String, String> = [("qa".to_string(), zk.connect("/outage"))]
        .into_iter()
        .collect();
    let app = TestApp::spawn_with(zkidcs, |_| {}).await;
    wait_ready(&app, true, Duration::from_secs(10)).await;
    app.client.add_service("hello").await.expect("add service");
    let (key, _) = app
        .client
        .add_server("hello", "10.0.0.1", 80)
        .await
        .expect("add server");

    zk.stop();
    // Reads serve the last view, marked stale; it has the member this service's own
    // acknowledged write added (the view was last read before that write).
    let params = [("key", KEY), ("zkidc", "qa"), ("destName", "hello")];
    let started = Instant::now();
    let reply = app.call("/serverlist/", &params).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the answer took {:?}",
        started.elapsed()
    );
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["code"], 1);
    assert_eq!(
        reply.body["servers"][0]["key"],
        key.as_str(),
        "{}",
        reply.body
    );
    assert!(
        reply.body["stale"]["age_seconds"].as_f64().is_some(),
        "{}",
        reply.body
    );
    let reason = reply.body["stale"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("ZooKeeper unavailable"), "{reason}");
    // A service this process never listed has no view: refused as before.
    let reply = app
        .call(
            "/serverlist/",
            &[("key", KEY), ("zkidc", "qa"), ("destName", "never-listed")],
        )
        .await;
    assert_failure(&reply, 503, "ZooKeeper unavailable");
    let reply = app
        .call(
            "/addservice/",
            &[("key", KEY), ("zkidc", "qa"), ("destName", "other")],
        )
        .await;
    assert_failure(&reply, 503, "ZooKeeper unavailable");
    wait_ready(&app, false, Duration::from_secs(5)).await;

    // A service started while ZooKeeper is down starts anyway, unready, and says why.
    let late = TestApp::spawn_unready(
        [("qa".to_string(), zk.connect("/late"))]
            .into_iter()
            .collect(),
        |_| {},
    )
    .await;
    let (status, body) = late
        .client
        .transport()
        .get_text("/readyz")
        .await
        .expect("/readyz answers");
    assert_eq!(status.as_u16(), 503, "{body}");
    assert!(body.contains("zkidc qa: ZooKeeper unavailable"), "{body}");
    // ... and, having never read the tree, has no view to serve: refused.
    let reply = late
        .call("/servicelist/", &[("key", KEY), ("zkidc", "qa")])
        .await;
    assert_failure(&reply, 503, "ZooKeeper unavailable");

    // Back within the session timeout: the same session carries on, nothing was lost.
    zk.restart();
    wait_ready(&app, true, Duration::from_secs(20)).await;
    // The late service connects by itself.
    wait_ready(&late, true, Duration::from_secs(20)).await;
    late.client
        .add_service("late")
        .await
        .expect("late service writes");
    let servers = app
        .client
        .server_list("hello")
        .await
        .expect("list after restart");
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].key, key);

    // A server that lost everything (sessions included): the old session is expired, the
    // service builds a new one, recreates its chroot, and serves again.
    zk.restart_empty();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match app.client.service_list().await {
            Ok(services) => {
                assert_eq!(
                    services,
                    Vec::<String>::new(),
                    "an empty ensemble lists nothing"
                );
                break;
            }
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "no recovery after session expiry: {e}"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    app.client
        .add_service("again")
        .await
        .expect("writes work again");
    wait_ready(&app, true, Duration::from_secs(5)).await;
}
