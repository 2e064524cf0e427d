//! Tasks (flows): creation from a template, reads, nodes and logs.

use kit::testing::TestBackend;
use serde_json::{json, Value};
use wire::task_engine as w;

use crate::support::{assert_api_error, assert_error, object, step, TestApp};

kit::on_both_backends!(
    a_task_is_created_from_a_template_and_read_with_stat_and_aliases,
    the_task_list_pages_newest_first,
    task_detail_lists_each_node_with_its_state_step_and_batch,
    nodes_may_come_as_text_holding_a_json_list,
    task_and_node_logs_are_served_on_every_documented_path,
    a_template_used_by_an_unfinished_task_is_not_deleted,
    a_task_keeps_the_steps_its_template_had_when_it_was_created,
    max_num_caps_the_batch_size,
    a_retried_creation_with_the_same_idempotency_key_creates_one_task,
);

/// `POST /task/create` as `subject` (an admin), with `Idempotency-Key: key` when given.
async fn create_with_key(
    app: &TestApp,
    subject: &str,
    key: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let token = kit::testing::issuer::issuer().token(subject, &[kit::auth::Role::Admin]);
    let mut request = reqwest::Client::new()
        .post(format!("{}/task/create", app.url()))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("the task-engine answers")
}

async fn a_retried_creation_with_the_same_idempotency_key_creates_one_task(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let body =
        |name: &str| json!({"template_id": tpl, "task_name": name, "nodes": [{"ip": "10.0.0.1"}]});
    let id_of = |reply: Value| reply["data"].as_i64().expect("a task id");

    let first = create_with_key(&app, "olga", Some("expand-42"), body("t")).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let id = id_of(first.json().await.expect("JSON"));
    // The retry (its answer lost, say): the same task, marked as a replay; nothing new.
    let retry = create_with_key(&app, "olga", Some("expand-42"), body("t")).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(
        retry
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(id_of(retry.json().await.expect("JSON")), id);
    assert_eq!(
        app.client.tasks(1, 100).await.expect("tasks").query_count,
        1
    );

    // The same key for another task is a mistake, said so; another creator's key is theirs.
    let reused = create_with_key(&app, "olga", Some("expand-42"), body("other")).await;
    assert_eq!(reused.status(), 409);
    let theirs = create_with_key(&app, "pavel", Some("expand-42"), body("t")).await;
    assert_eq!(theirs.status(), 200);
    assert_ne!(id_of(theirs.json().await.expect("JSON")), id);
    // Without a key, every request creates.
    for _ in 0..2 {
        let plain = create_with_key(&app, "olga", None, body("t")).await;
        assert_eq!(plain.status(), 200);
    }
    assert_eq!(
        app.client.tasks(1, 100).await.expect("tasks").query_count,
        4
    );
    // A key that is not 1..255 visible ASCII characters is refused.
    for bad in ["", "with space", &"k".repeat(256)] {
        let refused = create_with_key(&app, "olga", Some(bad), body("t")).await;
        assert_eq!(refused.status(), 400, "key {bad:?}");
    }
    assert_eq!(
        app.client.tasks(1, 100).await.expect("tasks").query_count,
        4
    );
}

async fn max_num_caps_the_batch_size(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let mut req = request(tpl, 10);
    req.max_ratio = Some(100);
    req.max_num = Some(3);
    let id = app.client.create_task(&req).await.expect("created");
    let task = app.client.task(id).await.expect("task");
    // floor(10 × 100 / 100) = 10, capped at 3: batches of 3, 3, 3, 1.
    assert_eq!((task.batch_size, task.batch_count), (3, 4));
    let nodes = app.client.task_detail(id).await.expect("detail");
    let batches: Vec<i64> = nodes.iter().map(|n| n.batch_id).collect();
    assert_eq!(batches, vec![1, 1, 1, 2, 2, 2, 3, 3, 3, 4]);
}

/// A template with a built-in and a remote step; returns its id.
async fn template(app: &TestApp) -> i64 {
    app.action("echo", json!({"echo_word": "string"})).await;
    app.remote_step("echo_step", &["echo"]).await;
    app.template("expand", &["create_vm", "echo_step"]).await
}

/// The service, the template of [`template`] and a task of it on `nodes` nodes (not started).
async fn with_task(backend: TestBackend, nodes: usize) -> (TestApp, i64, i64) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let id = app
        .client
        .create_task(&request(tpl, nodes))
        .await
        .expect("task created");
    (app, tpl, id)
}

fn request(template_id: i64, nodes: usize) -> w::TaskRequest {
    w::TaskRequest {
        template_id,
        task_name: "expand_nginx".into(),
        opr_user: "root".into(),
        nodes: (0..nodes)
            .map(|i| json!({"ip": format!("127.0.0.{}", i + 2), "vm_id": format!("{i}")}))
            .collect(),
        params: Some(object(json!({"echo_word": "hi"}))),
        pool_name: Some("pool".into()),
        max_num: Some(2),
        max_ratio: Some(50),
        timeout: Some(600),
        // Not started: these tests read a task as created (`run.rs` runs them).
        auto: Some(false),
        notify_url: None,
        cluster_id: None,
    }
}

async fn a_task_is_created_from_a_template_and_read_with_stat_and_aliases(backend: TestBackend) {
    let (app, tpl, id) = with_task(backend, 5).await;

    let task = app.client.task(id).await.expect("task read");
    assert_eq!(task.id, id);
    assert_eq!(
        (task.template_id, task.template_name.as_str()),
        (tpl, "expand")
    );
    assert_eq!(
        (task.task_name.as_str(), task.pool_name.as_str()),
        ("expand_nginx", "pool")
    );
    assert_eq!(task.status, w::STATE_INIT);
    assert_eq!(task.stat, vec![5, 0, 0, 0, 0]);
    assert_eq!(task.stat_alias, task.stat);
    assert_eq!(task.created_alias, task.created);
    assert_eq!(task.created.len(), "2017-07-27 13:39:55".len());
    assert_eq!(task.step_len, 2);
    assert_eq!(step_names(&task), vec!["create_vm", "echo_step"]);
    assert_eq!(task.params, object(json!({"echo_word": "hi"})));
    assert_eq!(
        (task.max_num, task.max_ratio, task.timeout, task.auto),
        (2, 50, 600, false)
    );
    // floor(5 × 50 / 100) = 2, capped by max_num 2: batches of 2, 2, 1.
    assert_eq!((task.batch_size, task.batch_count), (2, 3));

    // On the wire both spellings are present, as the original web client read them.
    let raw = app.post(&format!("/task/{id}"), json!({})).await;
    for key in ["stat", "Stat", "created", "Created", "Status"] {
        assert!(
            raw.body["data"].get(key).is_some(),
            "`{key}` in {}",
            raw.body
        );
    }
}

async fn the_task_list_pages_newest_first(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let empty = app.client.tasks(1, 10).await.expect("empty list");
    assert_eq!((empty.data.len(), empty.query_count), (0, 0));
    let tpl = template(&app).await;
    let first = app
        .client
        .create_task(&request(tpl, 1))
        .await
        .expect("first");
    let second = app
        .client
        .create_task(&request(tpl, 3))
        .await
        .expect("second");

    let page = app.client.tasks(1, 1).await.expect("listed");
    assert_eq!((page.page, page.page_size, page.query_count), (1, 1, 2));
    assert_eq!(page.data[0].id, second);
    assert_eq!(page.data[0].stat, vec![3, 0, 0, 0, 0]);
    let page2 = app.client.tasks(2, 1).await.expect("second page");
    assert_eq!(page2.data[0].id, first);
    assert_eq!(page2.data[0].stat, vec![1, 0, 0, 0, 0]);
}

async fn task_detail_lists_each_node_with_its_state_step_and_batch(backend: TestBackend) {
    let (app, _, id) = with_task(backend, 5).await;

    let nodes = app.client.task_detail(id).await.expect("detail");
    assert_eq!(nodes.len(), 5);
    let ips: Vec<&str> = nodes.iter().map(|n| n.ip.as_str()).collect();
    assert_eq!(
        ips,
        vec![
            "127.0.0.2",
            "127.0.0.3",
            "127.0.0.4",
            "127.0.0.5",
            "127.0.0.6"
        ]
    );
    let batches: Vec<i64> = nodes.iter().map(|n| n.batch_id).collect();
    assert_eq!(batches, vec![1, 1, 2, 2, 3]);
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(node.fid, id);
        assert_eq!(node.state, w::STATE_INIT);
        assert_eq!((node.step, node.step_name.as_str()), (0, "create_vm"));
        assert_eq!(node.vm_id, i.to_string());
        assert_eq!(node.pool_name, "pool");
        assert_eq!(node.created_alias, node.created);
        assert_eq!(node.vars.get("ip"), Some(&Value::String(node.ip.clone())));
    }
    let unknown = app
        .client
        .task_detail(id + 100)
        .await
        .expect_err("unknown task");
    assert_api_error(&unknown, 404, &format!("task {} not found", id + 100));
}

async fn nodes_may_come_as_text_holding_a_json_list(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let reply = app
        .post(
            "/task/create",
            json!({"template_id": tpl, "task_name": "t", "opr_user": "root",
                   "nodes": "[{\"ip\":\"10.0.0.1\"},\"10.0.0.2\"]",
                   "params": [{"a": "1"}, {"b": "2"}]}),
        )
        .await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let id = reply.body["data"].as_i64().expect("new id");
    let nodes = app.client.task_detail(id).await.expect("detail");
    let ips: Vec<&str> = nodes.iter().map(|n| n.ip.as_str()).collect();
    assert_eq!(ips, vec!["10.0.0.1", "10.0.0.2"]);
    let task = app.client.task(id).await.expect("task");
    assert_eq!(task.params, object(json!({"a": "1", "b": "2"})));
    // Defaults: no cap, ratio 100: one batch of every node.
    assert_eq!(
        (
            task.max_num,
            task.max_ratio,
            task.batch_size,
            task.batch_count
        ),
        (0, 100, 2, 1)
    );
}

async fn task_and_node_logs_are_served_on_every_documented_path(backend: TestBackend) {
    let (app, _, id) = with_task(backend, 3).await;

    let log = app.client.task_log(id).await.expect("task log");
    assert_eq!(log.len(), 4, "one row for the task, one per node");
    assert_eq!(log[0].batch_id, 0);
    assert_eq!(log[0].correlation_id, format!("{id}-0"));
    assert!(
        log[0].message.contains("created by tester"),
        "{}",
        log[0].message
    );
    assert!(log.iter().all(|r| r.fid == id && r.ctime > 1_500_000_000));
    // floor(3 × 50 / 100) = 1 node per batch: the third node is in batch 3.
    assert_eq!(log[3].correlation_id, format!("{id}-3"));

    let alias = app.post(&format!("/task/flow/{id}/log"), json!({})).await;
    let direct = app.post(&format!("/task/{id}/log"), json!({})).await;
    assert_eq!(alias.body, direct.body);
    for key in [
        "id",
        "fid",
        "batch_id",
        "correlation_id",
        "message",
        "ctime",
    ] {
        assert!(
            direct.body["data"][0].get(key).is_some(),
            "`{key}` in a log row"
        );
    }

    let nodes = app.client.task_detail(id).await.expect("detail");
    let node_log = app.client.node_log(nodes[1].id).await.expect("node log");
    assert_eq!(node_log.len(), 1);
    assert_eq!(node_log[0].node_id, Some(nodes[1].id));
    assert!(
        node_log[0].message.contains("127.0.0.3"),
        "{}",
        node_log[0].message
    );

    let unknown = app.post("/task/node/999999/log", json!({})).await;
    assert_error(&unknown, 404, "task node 999999 not found");
    let unknown = app.post("/task/999999/log", json!({})).await;
    assert_error(&unknown, 404, "task 999999 not found");
}

async fn a_template_used_by_an_unfinished_task_is_not_deleted(backend: TestBackend) {
    let (app, tpl, id) = with_task(backend, 1).await;
    let refused = app
        .client
        .delete_template(tpl)
        .await
        .expect_err("task INIT");
    assert_api_error(&refused, 409, &format!("used by unfinished task {id}"));
    assert!(
        app.client.template(tpl).await.is_ok(),
        "the template is still there"
    );
}

async fn a_task_keeps_the_steps_its_template_had_when_it_was_created(backend: TestBackend) {
    let (app, tpl, id) = with_task(backend, 1).await;
    app.client
        .update_template(
            tpl,
            &w::TemplateRequest {
                steps: Some(vec![step("return_vm")]),
                ..Default::default()
            },
        )
        .await
        .expect("template updated");
    let task = app.client.task(id).await.expect("task");
    assert_eq!(step_names(&task), vec!["create_vm", "echo_step"]);
}

/// The names of a task's steps, in order.
fn step_names(task: &w::Task) -> Vec<&str> {
    task.options.iter().map(|s| s.name.as_str()).collect()
}
