//! Schedules: saving and listing them, the scheduler firing due items once with an injected
//! clock, and the election that lets one of two replicas (one MariaDB, one ZooKeeper) fire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use client::Method;
use kit::testing::zookeeper;
use kit::testing::{TestBackend, TestDatabase};
use orchestrator::schedules::ManualClock;
use serde_json::json;

use crate::engine::Engine;
use crate::flows::pool;
use crate::support::{assert_error, at, test_config, TestApp};

kit::on_both_backends!(
    schedules_are_saved_and_listed_in_the_seed_shape,
    save_task_refuses_bad_input,
    a_due_item_scales_the_pool_once_and_dependent_pools_follow,
);

/// Waits until the scheduler of `app` made `more` turns after now.
async fn wait_turns(app: &TestApp, more: u64) {
    let start = app.scheduler().await.ticks;
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.scheduler().await.ticks < start + more {
        assert!(Instant::now() < deadline, "the scheduler stopped turning");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn schedules_are_saved_and_listed_in_the_seed_shape(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let p = pool(&app, json!({})).await;
    let other = app
        .client
        .create_pool(&json!({"name": "db_pool", "vm_type": 1, "sd_id": 0, "service_id": app.client.pool(p).await.expect("pool").service_id}))
        .await
        .expect("second pool");
    // The seed's misspelled keys, its `" expand/upload"`-style spacing, a form-like string list.
    let saved = app
        .ok(
            "/task/saveTask",
            json!({
                "id": 0, "pool_id": p, "type": " expand", "exec_type": "crontab",
                "cron_itmes": [{"week_day": 0, "time": "9:05", "instance_num": 3,
                                "concurr_ratio": 50, "concurr_num": 2, "ignore": false}],
                "depend_itmes": format!("[{{\"pool_id\": {other}, \"ratio\": 0.5, \"elastic_count\": 1, \"step_name\": \"register\", \"ignore\": false}}]"),
            }),
        )
        .await;
    assert_eq!(saved, json!(true));
    let reply = app
        .call(Method::POST, &format!("/task/expandList/{p}"), json!({}))
        .await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let list = reply.body["data"].as_array().expect("a list").clone();
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!(s["pool"]["id"], p);
    assert_eq!(s["pool"]["name"], "web_pool");
    assert_eq!(s["type"], "expand");
    assert_eq!(s["exec_type"], "crontab");
    assert_eq!(
        s["cron_items"],
        json!([{"week_day": 0, "time": "09:05", "instance_num": 3, "concurr_ratio": 50, "concurr_num": 2, "ignore": false}])
    );
    assert_eq!(
        s["depend_items"],
        json!([{"pool_id": other, "ratio": 0.5, "elastic_count": 1, "step_name": "register", "ignore": false}])
    );
    let id = s["id"].as_i64().expect("schedule id");

    // Saved again under its id with the correct spelling: replaced, not added.
    app.ok(
        "/task/saveTask",
        json!({"id": id, "pool_id": p, "type": "expand", "exec_type": "depend",
               "cron_items": [{"week_day": 7, "time": "23:59", "instance_num": 0}], "depend_items": []}),
    )
    .await;
    let list = app.ok(&format!("/task/expandList/{p}"), json!({})).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["exec_type"], "depend");
    assert_eq!(
        list[0]["cron_items"],
        json!([{"week_day": 7, "time": "23:59", "instance_num": 0, "concurr_ratio": 100, "concurr_num": 0, "ignore": false}])
    );
    assert_eq!(list[0]["depend_items"], json!([]));
    // An upload schedule is listed apart.
    assert_eq!(
        app.ok(&format!("/task/uploadList/{p}"), json!({})).await,
        json!([])
    );
    app.ok(
        "/task/saveTask",
        json!({"id": 0, "pool_id": p, "type": "upload", "cron_items": []}),
    )
    .await;
    let uploads = app
        .client
        .upload_schedules(p)
        .await
        .expect("upload schedules");
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].kind, "upload");
    assert_eq!(uploads[0].pool.id, p);
    app.stop().await;
}

async fn save_task_refuses_bad_input(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let p = pool(&app, json!({})).await;
    let item = |extra: serde_json::Value| {
        let mut base = json!({"week_day": 1, "time": "10:00", "instance_num": 1});
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        base
    };
    let cases = [
        (json!({"type": "expand"}), 400, "pool_id"),
        (json!({"pool_id": 999, "type": "expand"}), 400, "pool 999"),
        (json!({"pool_id": p}), 400, "type"),
        (json!({"pool_id": p, "type": "shrink"}), 400, "type"),
        (
            json!({"pool_id": p, "type": "expand", "exec_type": "now"}),
            400,
            "exec_type",
        ),
        (
            json!({"pool_id": p, "type": "expand", "id": 999}),
            404,
            "schedule 999",
        ),
        (json!({"pool_id": p, "type": "expand", "id": -1}), 400, "id"),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [], "cron_itmes": []}),
            400,
            "not both",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": {"a": 1}}),
            400,
            "cron_items",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [item(json!({"week_day": 8}))]}),
            400,
            "week_day",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [item(json!({"time": "24:00"}))]}),
            400,
            "time",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [item(json!({"time": "ten"}))]}),
            400,
            "time",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [item(json!({"instance_num": -1}))]}),
            400,
            "instance_num",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [item(json!({"concurr_ratio": 0}))]}),
            400,
            "concurr_ratio",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [item(json!({"ignore": "maybe"}))]}),
            400,
            "ignore",
        ),
        (
            json!({"pool_id": p, "type": "expand", "cron_items": [item(json!({"colour": 1}))]}),
            400,
            "colour",
        ),
        (
            json!({"pool_id": p, "type": "expand", "depend_items": [{"pool_id": 999, "ratio": 1}]}),
            400,
            "pool 999",
        ),
        (
            json!({"pool_id": p, "type": "expand", "depend_items": [{"pool_id": p, "ratio": 1}]}),
            400,
            "itself",
        ),
        (
            json!({"pool_id": p, "type": "expand", "depend_items": [{"pool_id": p, "ratio": -1}]}),
            400,
            "ratio",
        ),
        (
            json!({"pool_id": p, "type": "expand", "colour": 1}),
            400,
            "colour",
        ),
    ];
    for (params, status, needle) in cases {
        let reply = app
            .call(Method::POST, "/task/saveTask", params.clone())
            .await;
        assert_eq!(reply.status.as_u16(), status, "{params}: {}", reply.body);
        assert_error(&reply, status, needle);
    }
    assert_eq!(
        app.ok(&format!("/task/expandList/{p}"), json!({})).await,
        json!([])
    );
    assert_error(
        &app.call(Method::POST, "/task/expandList/999", json!({}))
            .await,
        400,
        "pool 999",
    );
    assert_error(
        &app.call(Method::POST, "/task/uploadList/x", json!({}))
            .await,
        400,
        "x",
    );
    app.stop().await;
}

async fn a_due_item_scales_the_pool_once_and_dependent_pools_follow(backend: TestBackend) {
    let engine = Engine::spawn(backend).await;
    // Expanded nodes fail at create_vm (no cloud-portal here): the firing is what is tested.
    let tpl = engine.template("expand", &["create_vm"], json!({})).await;
    let db = TestDatabase::create(backend, "oc_it");
    let mut config = test_config(&db.config, &engine.url);
    config.scheduler.tick_ms = 20;
    let clock = Arc::new(ManualClock::new(at(9, 59)));
    let app = TestApp::start(config, Some(db), clock.clone()).await;
    let web = pool(&app, json!({"expand_tpl": tpl})).await;
    let service = app.client.pool(web).await.expect("pool").service_id;
    let dbp = app
        .client
        .create_pool(&json!({"name": "db_pool", "vm_type": 1, "sd_id": 0, "expand_tpl": tpl, "service_id": service}))
        .await
        .expect("dependent pool");
    app.ok(
        "/task/saveTask",
        json!({"id": 0, "pool_id": web, "type": "expand",
               "cron_items": [{"week_day": 2, "time": "10:00", "instance_num": 3, "concurr_num": 2},
                              {"week_day": 3, "time": "10:00", "instance_num": 9},
                              {"week_day": 0, "time": "10:00", "instance_num": 5, "ignore": true}],
               "depend_items": [{"pool_id": dbp, "ratio": 0.5, "elastic_count": 0, "step_name": "", "ignore": false}]}),
    )
    .await;

    // 09:59: nothing is due.
    wait_turns(&app, 3).await;
    assert_eq!(engine.task_count().await, 0);

    // Monday (week_day 2) 10:00: the Monday item fires, not Tuesday's, not the ignored one.
    clock.set(at(10, 0));
    app.wait_nodes(web, "scaled to 3", |n| n.len() == 3).await;
    app.wait_nodes(dbp, "scaled to ceil(3 x 0.5)", |n| n.len() == 2)
        .await;
    // Many more turns in the same minute: it fired once.
    wait_turns(&app, 10).await;
    assert_eq!(engine.task_count().await, 2, "one expand per pool");
    let nodes = app.nodes(web).await;
    assert_eq!(nodes.len(), 3);
    assert!(
        nodes.iter().all(|n| n.node_type == "scheduled"),
        "{nodes:?}"
    );
    let task = engine.client.task(nodes[0].task_id).await.expect("task");
    assert_eq!(task.max_num, 2, "concurr_num bounds the batches");
    app.stop().await;
    engine.stop().await;
}

#[actix_web::test]
async fn two_replicas_elect_one_scheduler_and_the_other_takes_over() {
    let backend = TestBackend::Mysql;
    let engine = Engine::spawn(backend).await;
    let tpl = engine.template("expand", &["create_vm"], json!({})).await;
    let zk = zookeeper::shared();
    let connect = zk.connect(&zookeeper::unique_chroot("oc-election"));
    let db = TestDatabase::create(backend, "oc_it");
    let clock = Arc::new(ManualClock::new(at(9, 59)));
    let replica = |db_config: &kit::config::DatabaseConfig| {
        let mut config = test_config(db_config, &engine.url);
        config.scheduler.zookeeper = connect.clone();
        config.scheduler.session_timeout_ms = 4_000;
        config.scheduler.tick_ms = 20;
        config
    };
    let a = TestApp::start(replica(&db.config), None, clock.clone()).await;
    let b = TestApp::start(replica(&db.config), None, clock.clone()).await;

    // Exactly one leader.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (la, lb) = (a.scheduler().await.leader, b.scheduler().await.leader);
        assert!(!(la && lb), "two leaders at once");
        if la || lb {
            break;
        }
        assert!(Instant::now() < deadline, "no leader elected within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (leader, follower) = if a.scheduler().await.leader {
        (a, b)
    } else {
        (b, a)
    };
    assert!(!follower.scheduler().await.leader);

    let web = pool(&leader, json!({"expand_tpl": tpl})).await;
    leader
        .ok(
            "/task/saveTask",
            json!({"pool_id": web, "type": "expand",
                   "cron_items": [{"week_day": 0, "time": "10:00", "instance_num": 2},
                                  {"week_day": 0, "time": "10:01", "instance_num": 3}]}),
        )
        .await;
    clock.set(at(10, 0));
    follower
        .wait_nodes(web, "scaled to 2", |n| n.len() == 2)
        .await;
    // Both replicas turned many times in that minute: one task only.
    wait_turns(&leader, 10).await;
    wait_turns(&follower, 10).await;
    assert_eq!(engine.task_count().await, 1);

    // The leader dies: the other takes over and fires the next minute's item.
    leader.stop().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !follower.scheduler().await.leader {
        assert!(Instant::now() < deadline, "the follower never took over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    clock.set(at(10, 1));
    follower
        .wait_nodes(web, "scaled to 3", |n| n.len() == 3)
        .await;
    wait_turns(&follower, 10).await;
    assert_eq!(engine.task_count().await, 2);
    follower.stop().await;
    engine.stop().await;
    drop(db);
}
