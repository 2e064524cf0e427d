//! Expand, shrink and deploy against a real task-engine running remote steps over a real sshd,
//! followed through events and through reconciliation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{Method, RawReply};
use kit::testing::{TestBackend, TestDatabase};
use orchestrator::schedules::ManualClock;
use serde_json::{json, Value};
use wire::orchestrator::{NODE_FAILED, NODE_REMOVING, NODE_SUCCESS};
use wire::task_engine as w;

use crate::engine::Engine;
use crate::support::{assert_error, at, test_config, TestApp};

kit::on_both_backends!(
    deploy_runs_a_remote_step_with_the_tag_on_manual_nodes,
    shrink_removes_manual_nodes_only_after_their_task_succeeds,
    a_failing_remote_step_fails_the_nodes_at_that_step,
    reconciliation_repairs_the_node_table_when_events_are_lost,
    expand_creates_pending_nodes_and_sends_the_contract_to_the_task_engine,
    nothing_is_left_half_made_when_the_task_engine_is_missing,
    a_task_the_task_engine_refuses_is_a_400_and_leaves_nothing,
    a_flow_whose_orchestrator_stopped_before_recording_its_task_is_undone,
);

/// How the orchestrator learns of task changes in a test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Follow {
    /// Events only: reconciliation once an hour.
    Events,
    /// Reconciliation only (every 100 ms): the events go to a closed port.
    Reconciliation,
}

async fn orchestrator(backend: TestBackend, engine_url: &str, follow: Follow) -> TestApp {
    let db = TestDatabase::create(backend, "oc_it");
    let mut config = test_config(&db.config, engine_url);
    match follow {
        Follow::Events => config.events.reconcile_interval_ms = 3_600_000,
        Follow::Reconciliation => {
            config.events.public_url = "http://127.0.0.1:9".into();
            config.events.reconcile_interval_ms = 100;
        }
    }
    TestApp::start(config, Some(db), Arc::new(ManualClock::new(at(0, 0)))).await
}

/// A cluster, a service (image `myregistry/myweb:1.0`) and a pool with `fields` over the
/// defaults (vm_type 7, sd_id 0, no templates); the pool's id.
pub async fn pool(app: &TestApp, fields: Value) -> i64 {
    let c = &app.client;
    let cluster = c.create_cluster("prod", "", "1").await.expect("cluster");
    let service = c
        .create_service(&json!({
            "name": "web", "docker_image": "myregistry/myweb:1.0", "cluster_id": cluster
        }))
        .await
        .expect("service");
    let mut pool = json!({"name": "web_pool", "vm_type": 7, "sd_id": 0, "service_id": service});
    if let (Some(base), Value::Object(extra)) = (pool.as_object_mut(), fields) {
        base.extend(extra);
    }
    c.create_pool(&pool).await.expect("pool")
}

/// What most flow scenarios start from: a temp folder, an engine with these remote steps
/// (`(name, command)`), a template `kind` of them with `dir` = the folder, an orchestrator
/// following the engine, and a pool whose `<kind>_tpl` is that template, holding the manual
/// nodes `ips`.
struct Flow {
    dir: tempfile::TempDir,
    engine: Engine,
    app: TestApp,
    /// The pool's id.
    id: i64,
}

impl Flow {
    /// A flow followed through events.
    async fn start(backend: TestBackend, kind: &str, steps: &[(&str, &str)], ips: &[&str]) -> Flow {
        Flow::following(backend, Follow::Events, kind, steps, ips).await
    }

    async fn following(
        backend: TestBackend,
        follow: Follow,
        kind: &str,
        steps: &[(&str, &str)],
        ips: &[&str],
    ) -> Flow {
        let dir = tempfile::tempdir().expect("a temp folder");
        let engine = Engine::spawn(backend).await;
        for (name, command) in steps {
            engine.remote_step(name, command).await;
        }
        let names: Vec<&str> = steps.iter().map(|(name, _)| *name).collect();
        let tpl = engine
            .template(
                kind,
                &names,
                json!({"dir": dir.path().display().to_string()}),
            )
            .await;
        let app = orchestrator(backend, &engine.url, follow).await;
        let id = pool(&app, json!({ format!("{kind}_tpl"): tpl })).await;
        app.client.add_nodes(id, ips).await.expect("manual nodes");
        Flow {
            dir,
            engine,
            app,
            id,
        }
    }

    async fn stop(self) {
        self.app.stop().await;
        self.engine.stop().await;
    }
}

/// The remote step most flow scenarios run: it writes the deployed tag to `<ip>.tag`.
const WRITE_TAG: (&str, &str) = ("write_tag", "echo {{tag}} > {{dir}}/{{ip}}.tag");

/// POSTs flow `op` (expand, shrink, deploy) of pool `id`; the answer as it came.
async fn pool_op(app: &TestApp, op: &str, id: i64, params: Value) -> RawReply {
    app.call(Method::POST, &format!("/pool/{op}/{id}"), params)
        .await
}

/// Starts flow `op` of pool `id`; the id of its task.
async fn started(app: &TestApp, op: &str, id: i64, params: Value) -> i64 {
    task_id(&app.ok(&format!("/pool/{op}/{id}"), params).await)
}

fn task_id(data: &Value) -> i64 {
    data["task_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("a task id in {data}"))
}

async fn wait_detail(engine: &Engine, fid: i64, what: &str, done: impl Fn(&[w::TaskNode]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let detail = engine.client.task_detail(fid).await.expect("task detail");
        if done(&detail) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "task {fid} never {what}: {detail:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn deploy_runs_a_remote_step_with_the_tag_on_manual_nodes(backend: TestBackend) {
    let flow = Flow::start(backend, "deploy", &[WRITE_TAG], &["127.0.0.2", "127.0.0.3"]).await;
    let (dir, engine, app, id) = (&flow.dir, &flow.engine, &flow.app, flow.id);

    let fid = started(
        app,
        "deploy",
        id,
        json!({"max_num": 1, "tag": "myregistry/myweb:2.0"}),
    )
    .await;

    let nodes = app
        .wait_nodes(id, "deployed", |n| {
            n.iter().all(|n| {
                n.status == NODE_SUCCESS && n.task_id == fid && n.tag == "myregistry/myweb:2.0"
            })
        })
        .await;
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes.iter().all(|n| n.state == "ok" && n.step.is_empty()),
        "{nodes:?}"
    );
    for ip in ["127.0.0.2", "127.0.0.3"] {
        let written = std::fs::read_to_string(dir.path().join(format!("{ip}.tag")))
            .unwrap_or_else(|e| panic!("the step wrote no tag for {ip}: {e}"));
        assert_eq!(written.trim(), "myregistry/myweb:2.0");
    }
    // One node per batch, as max_num asked.
    let task = engine.client.task(fid).await.expect("task");
    assert_eq!(task.task_name, "deploy-web_pool-myregistry/myweb:2.0");
    assert_eq!(task.batch_count, 2, "{task:?}");
    flow.stop().await;
}

async fn shrink_removes_manual_nodes_only_after_their_task_succeeds(backend: TestBackend) {
    let gate = (
        "wait_gate",
        "while [ ! -e {{dir}}/gate ]; do sleep 0.1; done",
    );
    let ips = ["127.0.0.4", "127.0.0.5", "127.0.0.6"];
    let flow = Flow::start(backend, "shrink", &[gate], &ips).await;
    let (dir, engine, app, id) = (&flow.dir, &flow.engine, &flow.app, flow.id);

    let fid = started(
        app,
        "shrink",
        id,
        json!({"nodes": ["127.0.0.4", "127.0.0.5"]}),
    )
    .await;

    // The step runs on both nodes and cannot finish: they are still in the pool, removing.
    wait_detail(engine, fid, "ran on both nodes", |d| {
        d.len() == 2 && d.iter().all(|n| n.state == w::STATE_RUNNING)
    })
    .await;
    let nodes = app.nodes(id).await;
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    for n in &nodes {
        let want = if n.ip == "127.0.0.6" {
            NODE_SUCCESS
        } else {
            NODE_REMOVING
        };
        assert_eq!(n.status, want, "{n:?}");
    }
    // A second shrink of a node being removed is refused.
    let reply = pool_op(app, "shrink", id, json!({"nodes": ["127.0.0.4"]})).await;
    assert_error(&reply, 409, "removing");
    // Nor can it be removed by hand meanwhile.
    let reply = app
        .call(
            Method::POST,
            &format!("/pool/{id}/remove_nodes"),
            json!({"nodes": ["127.0.0.5"]}),
        )
        .await;
    assert_error(&reply, 409, "removing");

    std::fs::write(dir.path().join("gate"), b"open").expect("open the gate");
    let nodes = app.wait_nodes(id, "shrunk", |n| n.len() == 1).await;
    assert_eq!(nodes[0].ip, "127.0.0.6");
    assert_eq!(nodes[0].status, NODE_SUCCESS);
    flow.stop().await;
}

async fn a_failing_remote_step_fails_the_nodes_at_that_step(backend: TestBackend) {
    let boom = ("boom", "echo failing >&2; exit 3");
    let flow = Flow::start(
        backend,
        "deploy",
        &[WRITE_TAG, boom],
        &["127.0.0.7", "127.0.0.8"],
    )
    .await;
    let (app, id) = (&flow.app, flow.id);

    let fid = started(app, "deploy", id, json!({"max_num": 2, "tag": "v9"})).await;
    let nodes = app
        .wait_nodes(id, "failed", |n| n.iter().all(|n| n.status == NODE_FAILED))
        .await;
    for n in &nodes {
        assert_eq!(n.state, "failed");
        assert_eq!(n.step, "boom", "{n:?}");
        assert_eq!(n.task_id, fid);
        // The tag is recorded only by a deploy that succeeded.
        assert_eq!(n.tag, "", "{n:?}");
    }
    // A failed node can be deployed again (it is not busy).
    let again = pool_op(app, "deploy", id, json!({"max_num": 2, "tag": "v9"})).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);
    flow.stop().await;
}

async fn reconciliation_repairs_the_node_table_when_events_are_lost(backend: TestBackend) {
    // Every event goes to a closed port: only the periodic reconciliation can see the task end.
    let ips = ["127.0.0.9", "127.0.0.10"];
    let flow = Flow::following(
        backend,
        Follow::Reconciliation,
        "deploy",
        &[WRITE_TAG],
        &ips,
    )
    .await;
    let (app, id) = (&flow.app, flow.id);
    let fid = started(app, "deploy", id, json!({"max_num": 5, "tag": "v2"})).await;
    let nodes = app
        .wait_nodes(id, "repaired by reconciliation", |n| {
            n.iter().all(|n| n.status == NODE_SUCCESS && n.tag == "v2")
        })
        .await;
    assert!(nodes.iter().all(|n| n.task_id == fid));
    flow.stop().await;
}

async fn expand_creates_pending_nodes_and_sends_the_contract_to_the_task_engine(
    backend: TestBackend,
) {
    let engine = Engine::spawn(backend).await;
    // No cloud-portal is configured in this task-engine: create_vm fails, clearly.
    let tpl = engine.template("expand", &["create_vm"], json!({})).await;
    let app = orchestrator(backend, &engine.url, Follow::Events).await;
    let sd = app
        .ok(
            "/sd/create",
            json!({"zkidc": "qa", "service": "web.api", "port": 8080}),
        )
        .await["id"]
        .as_i64()
        .expect("a target id");
    let id = pool(&app, json!({"expand_tpl": tpl, "sd_id": sd})).await;

    let fid = started(
        &app,
        "expand",
        id,
        json!({"num": 2, "params": {"owner": "ops"}}),
    )
    .await;
    let nodes = app.nodes(id).await;
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(
        nodes
            .iter()
            .all(|n| n.node_type == "expand" && n.ip.is_empty()),
        "{nodes:?}"
    );

    // The task carries the contract of platform-flow.md.
    let task = engine.client.task(fid).await.expect("task");
    assert_eq!(task.task_name, "expand-web_pool-2");
    assert_eq!(task.pool_name, "web_pool");
    let p = &task.params;
    assert_eq!(p["vm_type_id"], 7);
    assert_eq!(p["zkidc"], "qa");
    assert_eq!(p["service"], "web.api");
    assert_eq!(p["port"], 8080);
    assert_eq!(p["tag"], "myregistry/myweb:1.0");
    assert_eq!(p["cluster"], "prod");
    assert_eq!(p["service_name"], "web");
    assert_eq!(p["pool"], "web_pool");
    assert_eq!(p["owner"], "ops");
    let detail = engine.client.task_detail(fid).await.expect("detail");
    let mut sent: Vec<i64> = detail
        .iter()
        .filter_map(|n| n.vars["node_id"].as_i64())
        .collect();
    sent.sort();
    let mut ours: Vec<i64> = nodes.iter().map(|n| n.id).collect();
    ours.sort();
    assert_eq!(sent, ours);

    let nodes = app
        .wait_nodes(id, "failed at create_vm", |n| {
            n.iter().all(|n| n.status == NODE_FAILED)
        })
        .await;
    assert!(nodes.iter().all(|n| n.step == "create_vm"), "{nodes:?}");
    // The target cannot go while the pool uses it.
    let reply = app
        .call(Method::POST, &format!("/sd/delete/{sd}"), json!({}))
        .await;
    assert_error(&reply, 409, &format!("pool(s) {id}"));
    app.stop().await;
    engine.stop().await;
}

async fn nothing_is_left_half_made_when_the_task_engine_is_missing(backend: TestBackend) {
    // Not configured at all.
    let app = orchestrator(backend, "", Follow::Events).await;
    let id = pool(
        &app,
        json!({"expand_tpl": 1, "shrink_tpl": 2, "deploy_tpl": 3}),
    )
    .await;
    let reply = pool_op(&app, "expand", id, json!({"num": 2})).await;
    assert_error(&reply, 503, "not configured");
    assert!(app.nodes(id).await.is_empty());
    app.stop().await;

    // Configured but unreachable (a port nobody listens on).
    let closed = kit::testing::sshd::free_port();
    let app = orchestrator(
        backend,
        &format!("http://127.0.0.1:{closed}"),
        Follow::Events,
    )
    .await;
    let id = pool(
        &app,
        json!({"expand_tpl": 1, "shrink_tpl": 2, "deploy_tpl": 3}),
    )
    .await;
    let reply = pool_op(&app, "expand", id, json!({"num": 3})).await;
    assert_error(&reply, 503, "task-engine unreachable");
    assert!(app.nodes(id).await.is_empty(), "pending nodes are removed");

    app.client
        .add_nodes(id, &["10.0.0.1", "10.0.0.2"])
        .await
        .expect("nodes");
    let reply = pool_op(&app, "shrink", id, json!({"nodes": ["10.0.0.1"]})).await;
    assert_error(&reply, 503, "task-engine unreachable");
    let reply = pool_op(&app, "deploy", id, json!({"max_num": 1, "tag": "v1"})).await;
    assert_error(&reply, 503, "task-engine unreachable");
    let nodes = app.nodes(id).await;
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes
            .iter()
            .all(|n| n.status == NODE_SUCCESS && n.task_id == 0),
        "the nodes are back as they were: {nodes:?}"
    );
    app.stop().await;
}

async fn a_task_the_task_engine_refuses_is_a_400_and_leaves_nothing(backend: TestBackend) {
    let engine = Engine::spawn(backend).await;
    let app = orchestrator(backend, &engine.url, Follow::Events).await;
    // Template 999 does not exist in the task-engine.
    let id = pool(&app, json!({"expand_tpl": 999, "deploy_tpl": 999})).await;
    let reply = pool_op(&app, "expand", id, json!({"num": 2})).await;
    assert_error(&reply, 400, "the task-engine refused the task");
    assert!(app.nodes(id).await.is_empty(), "pending nodes are removed");
    app.client
        .add_nodes(id, &["10.2.0.1"])
        .await
        .expect("a node");
    let reply = pool_op(&app, "deploy", id, json!({"max_num": 1, "tag": "v1"})).await;
    assert_error(&reply, 400, "the task-engine refused the task");
    let nodes = app.nodes(id).await;
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].status, NODE_SUCCESS, "the node is back as it was");
    assert_eq!(engine.task_count().await, 0);
    app.stop().await;
    engine.stop().await;
}

async fn a_flow_whose_orchestrator_stopped_before_recording_its_task_is_undone(
    backend: TestBackend,
) {
    let db = TestDatabase::create(backend, "oc_it");
    let db_config = db.config.clone();
    let mut config = test_config(&db.config, "");
    config.events.reconcile_interval_ms = 100;
    let app = TestApp::start(config, Some(db), Arc::new(ManualClock::new(at(0, 0)))).await;
    let id = pool(&app, json!({})).await;
    app.client
        .add_nodes(id, &["127.0.0.11", "127.0.0.12"])
        .await
        .expect("manual nodes");
    let manual = app.nodes(id).await;
    let (stale, fresh) = (manual[0].clone(), manual[1].clone());

    // What an orchestrator killed between preparing a flow and recording its task leaves: a
    // pending node it created and a node it marked running, with their journal, written long
    // ago; and the journal of a flow another replica is starting right now.
    let db = kit::db::Db::open(&db_config, orchestrator::migrations()).expect("the database");
    let now = chrono::Utc::now().timestamp();
    let long_ago = now - 86_400;
    let pending = db
        .write(move |c| -> Result<i64, orchestrator::error::Error> {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "INSERT INTO oc_nodes (pool_id, ip, vm_id, status, node_type, step, tag, task_id) \
                 VALUES ({id}, NULL, '', 0, 'expand', '', '', 0)"
            ))
            .execute(c)?;
            let pending = kit::db::last_insert_id(c)?;
            for sql in [
                format!("INSERT INTO oc_marks VALUES ({pending}, 1, 0, '', {long_ago})"),
                format!(
                    "UPDATE oc_nodes SET status = 2 WHERE id IN ({}, {})",
                    stale.id, fresh.id
                ),
                format!(
                    "INSERT INTO oc_marks VALUES ({}, 0, {}, '', {long_ago})",
                    stale.id, stale.status
                ),
                format!(
                    "INSERT INTO oc_marks VALUES ({}, 0, {}, '', {now})",
                    fresh.id, fresh.status
                ),
            ] {
                diesel::sql_query(sql).execute(c)?;
            }
            Ok(pending)
        })
        .await
        .expect("simulate the stopped orchestrator");

    let nodes = app
        .wait_nodes(id, "the stale preparation undone", |n| {
            n.iter().all(|n| n.id != pending)
                && n.iter()
                    .any(|n| n.id == stale.id && n.status == stale.status)
        })
        .await;
    assert_eq!(nodes.len(), 2, "the pending node is gone: {nodes:?}");
    let fresh_now = nodes
        .iter()
        .find(|n| n.id == fresh.id)
        .expect("the fresh node");
    assert_eq!(
        fresh_now.status,
        wire::orchestrator::NODE_RUNNING,
        "a flow still being started is left alone"
    );
    app.stop().await;
}
