//! A measurement, not a test (hence `#[ignore]`): the wall time of an expand by
//! `BENCH_EXPAND_NODES` (default 100) across the whole platform — instances from cloud-portal,
//! a remote step over SSH, registration in ZooKeeper through soa-registry, CIs in cmdb — from
//! the `expand` request until the orchestrator lists every node ok. `make bench` runs it in
//! release mode (`BENCH_ONLY=platform`) and writes `var/bench/platform.md`.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use dcp_e2e::{
    action, assert_ok, eventually, in_state, nodes, post, step, template, web_pool, Platform,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a benchmark: run by `make bench`"]
async fn expand_wall_time() {
    let count: usize = std::env::var("BENCH_EXPAND_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| (1..=250).contains(n))
        .unwrap_or(100);
    let platform = tokio::task::spawn_blocking(Platform::start)
        .await
        .expect("the platform starts");
    let orch = platform.orchestrator();
    let portal = platform.cloud_portal().await;
    let image = portal
        .add_image("bench-image", None)
        .await
        .expect("add an image");
    let ssh = kit::testing::sshd::shared();
    for last in 2..(2 + count) {
        portal
            .add_host(&format!("127.0.0.{last}"), ssh.port, 1)
            .await
            .expect("add a loopback host");
    }
    action(&platform, "bench_prepare", "echo {{tag}} > /dev/null").await;
    let expand_tpl = template(
        &platform,
        "bench-expand",
        vec![
            step("create_vm", json!({})),
            step("bench_prepare", json!({})),
            step("register", json!({})),
            step("record_ci", json!({})),
        ],
    )
    .await;
    let pool_id = web_pool(&orch, image.id, "com.dcp.bench", 8080, [expand_tpl, 0, 0]).await;

    let started = Instant::now();
    let expand = post(
        &orch,
        &format!("/pool/expand/{pool_id}"),
        json!({ "num": count }),
    )
    .await;
    assert_ok(&expand, "expand");
    eventually(600, "every node ok", &platform, || async {
        let all = nodes(&orch, pool_id).await;
        (all.len() == count && in_state(&all, "ok").len() == count).then_some(())
    })
    .await;
    let wall = started.elapsed();

    let report = format!(
        "Expand by {count} end to end (MariaDB, real ZooKeeper, sshd on loopback; template \
         create_vm → remote step → register → record_ci; task-engine concurrency 20): \
         {:.1} s wall, {:.1} nodes/s.\n",
        wall.as_secs_f64(),
        count as f64 / wall.as_secs_f64()
    );
    println!("{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../var/bench");
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(out.join("platform.md"), report);
    }
}
