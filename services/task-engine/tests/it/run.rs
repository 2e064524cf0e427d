//! Running tasks on the real sshd of the harness: nodes are 127.0.0.x, every scenario on
//! SQLite and MariaDB.

use kit::testing::TestBackend;
use serde_json::{json, Value};
use wire::task_engine as w;

use crate::support::{assert_api_error, assert_error, object, TestApp};

kit::on_both_backends!(
    a_three_node_task_of_two_steps_succeeds_and_logs_each_output,
    a_failing_step_is_retried_and_the_node_stops_there,
    ignore_error_lets_the_node_go_on,
    batches_run_one_after_the_other_within_the_concurrency_limit,
    an_unfilled_placeholder_and_a_built_in_step_fail_clearly,
    a_failed_task_resumes_from_the_failed_step_and_a_finished_one_is_refused,
    auto_starts_the_task_at_creation,
    a_stopped_task_stops_after_the_running_step_and_cannot_start_again,
    the_task_timeout_kills_the_running_step_and_fails_the_task,
    start_and_stop_refuse_bad_ids,
    a_paused_task_waits_at_the_step_boundary_and_resumes_where_each_node_stopped,
    a_paused_task_can_be_stopped_and_pause_refuses_other_states,
    a_pause_during_the_last_step_lets_the_task_finish,
    other_modules_run_with_ansible,
    other_modules_fail_saying_ansible_is_not_installed,
);

fn step(name: &str, params: Value, retry_times: u32, ignore_error: bool) -> w::TemplateStep {
    w::TemplateStep {
        name: name.into(),
        param_values: object(params),
        retry: w::Retry {
            retry_times,
            ignore_error,
        },
    }
}

async fn template(app: &TestApp, steps: Vec<w::TemplateStep>) -> i64 {
    app.client
        .create_template(&w::TemplateRequest {
            name: Some("run".into()),
            desc: None,
            steps: Some(steps),
        })
        .await
        .expect("template created")
}

fn task(template_id: i64, hosts: &[&str], max_num: i64, auto: bool) -> w::TaskRequest {
    w::TaskRequest {
        template_id,
        task_name: "run".into(),
        opr_user: "tester".into(),
        nodes: hosts
            .iter()
            .enumerate()
            .map(|(i, ip)| json!({"ip": ip, "vm_id": format!("vm{i}")}))
            .collect(),
        params: Some(object(json!({"word": "task-word"}))),
        pool_name: Some("pool".into()),
        max_num: Some(max_num),
        max_ratio: Some(100),
        timeout: None,
        auto: Some(auto),
        notify_url: None,
        cluster_id: None,
    }
}

/// The first node of task `id` and its node log.
async fn first_node(app: &TestApp, id: i64) -> (w::TaskNode, String) {
    let node = app
        .client
        .task_detail(id)
        .await
        .expect("detail")
        .into_iter()
        .next()
        .expect("a node");
    let log = app.node_log_text(node.id).await;
    (node, log)
}

/// A remote step `name` running `action`, and a template of it alone (no retries).
async fn one_step(app: &TestApp, name: &str, action: Value) -> i64 {
    app.remote(name, action).await;
    template(app, vec![step(name, json!({}), 0, false)]).await
}

/// Creates the task and starts it; its id.
async fn start(app: &TestApp, req: &w::TaskRequest) -> i64 {
    let id = app.client.create_task(req).await.expect("created");
    app.client.start_task(id).await.expect("started");
    id
}

/// Echoes a word and the address the client dialled (`$SSH_CONNECTION`'s third field).
fn say() -> Value {
    json!({"module": "shell", "args": "echo \"{{word}} on $(echo $SSH_CONNECTION | cut -d' ' -f3) as {{vm_id}}\""})
}

async fn a_three_node_task_of_two_steps_succeeds_and_logs_each_output(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.remote("say", say()).await;
    app.remote(
        "script",
        json!({"module": "longscript", "content": "#!/bin/sh\necho \"script {{word}} on {{ip}}\"\n"}),
    )
    .await;
    let tpl = template(
        &app,
        vec![
            step("say", json!({"word": "step-word"}), 0, false),
            step("script", json!({}), 0, false),
        ],
    )
    .await;
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let (id, done) = app.run(&task(tpl, &hosts, 0, false)).await;
    assert_eq!(done.status, w::STATE_SUCCESS, "{:?}", done.stat);
    assert_eq!(done.stat, vec![0, 0, 3, 0, 0]);

    let nodes = app.client.task_detail(id).await.expect("detail");
    assert_eq!(nodes.len(), 3);
    for (i, node) in nodes.iter().enumerate() {
        let ip = hosts[i];
        assert_eq!(node.ip, ip);
        assert_eq!(node.state, w::STATE_SUCCESS);
        assert_eq!((node.step, node.step_name.as_str()), (2, ""));
        assert_eq!(
            node.steps,
            object(json!({"say": "success", "script": "success"}))
        );
        let log = app.node_log_text(node.id).await;
        // The step's param_values win over the task's params; the node's own vars fill the rest.
        assert!(
            log.contains(&format!("step-word on {ip} as vm{i}")),
            "{log}"
        );
        assert!(log.contains(&format!("script task-word on {ip}")), "{log}");
        assert!(log.contains("step 1/2 `say` attempt 1/1"), "{log}");
        assert!(log.contains("step 2/2 `script` attempt 1/1"), "{log}");
    }
    let task_log = app.client.task_log(id).await.expect("task log");
    let last = &task_log.last().expect("rows").message;
    assert!(last.contains("task finished SUCCESS: 3 of 3"), "{last}");
}

async fn a_failing_step_is_retried_and_the_node_stops_there(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.remote(
        "fail",
        json!({"module": "command", "args": "echo tried; echo broken >&2; exit 7"}),
    )
    .await;
    app.remote("say", say()).await;
    let tpl = template(
        &app,
        vec![
            step("fail", json!({}), 1, false),
            step("say", json!({}), 0, false),
        ],
    )
    .await;
    let (id, done) = app.run(&task(tpl, &["127.0.0.2"], 0, false)).await;
    assert_eq!(done.status, w::STATE_FAILED);
    assert_eq!(done.stat, vec![0, 0, 0, 1, 0]);
    let (node, log) = first_node(&app, id).await;
    assert_eq!(node.state, w::STATE_FAILED);
    assert_eq!((node.step, node.step_name.as_str()), (0, "fail"));
    assert_eq!(node.steps, object(json!({"fail": "failed"})));
    assert!(log.contains("attempt 1/2 on `127.0.0.2`: failed"), "{log}");
    assert!(log.contains("attempt 2/2 on `127.0.0.2`: failed"), "{log}");
    assert_eq!(log.matches("exit 7\nstdout:\ntried\n").count(), 2, "{log}");
    assert!(log.contains("stderr:\nbroken"), "{log}");
    assert!(!log.contains("`say`"), "the node stopped at `fail`: {log}");
}

async fn ignore_error_lets_the_node_go_on(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.remote("fail", json!({"module": "shell", "args": "exit 1"}))
        .await;
    app.remote("say", say()).await;
    let tpl = template(
        &app,
        vec![
            step("fail", json!({}), 0, true),
            step("say", json!({}), 0, false),
        ],
    )
    .await;
    let (id, done) = app.run(&task(tpl, &["127.0.0.5"], 0, false)).await;
    assert_eq!(done.status, w::STATE_SUCCESS);
    let (node, log) = first_node(&app, id).await;
    assert_eq!(
        node.steps,
        object(json!({"fail": "ignored", "say": "success"}))
    );
    assert!(log.contains("error ignored"), "{log}");
    assert!(log.contains("task-word on 127.0.0.5 as vm0"), "{log}");
}

async fn batches_run_one_after_the_other_within_the_concurrency_limit(backend: TestBackend) {
    // Batches of 2 (max_num), one node at a time inside a batch.
    let app = TestApp::spawn_with(backend, 1).await;
    let tpl = one_step(
        &app,
        "slow",
        json!({"module": "shell", "args": "sleep 0.2; echo {{ip}}"}),
    )
    .await;
    let hosts = [
        "127.0.0.2",
        "127.0.0.3",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ];
    let (id, done) = app.run(&task(tpl, &hosts, 2, false)).await;
    assert_eq!(done.status, w::STATE_SUCCESS);
    assert_eq!((done.batch_size, done.batch_count), (2, 3));

    // The task log is in commit order: a node's "running" row and its "succeeded" row; with
    // one node at a time and batch after batch, they come strictly in pairs, in batch order.
    let nodes = app.client.task_detail(id).await.expect("detail");
    let log = app.client.task_log(id).await.expect("task log");
    let events: Vec<(i64, i64, bool)> = log
        .iter()
        .filter_map(|r| {
            let node = r.node_id?;
            if r.message.contains("running from step") {
                Some((r.batch_id, node, true))
            } else if r.message.ends_with("succeeded") && r.message.starts_with("node ") {
                Some((r.batch_id, node, false))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(events.len(), 10, "{events:?}");
    for pair in events.chunks(2) {
        assert_eq!(pair[0].1, pair[1].1, "one node at a time: {events:?}");
        assert!(pair[0].2 && !pair[1].2, "{events:?}");
    }
    let batches: Vec<i64> = events.iter().step_by(2).map(|e| e.0).collect();
    assert_eq!(batches, vec![1, 1, 2, 2, 3], "{events:?}");
    let batch_rows: Vec<&str> = log
        .iter()
        .filter(|r| r.node_id.is_none() && r.message.starts_with("batch "))
        .map(|r| r.message.as_str())
        .collect();
    assert_eq!(
        batch_rows,
        vec![
            "batch 1 started: 2 node(s)",
            "batch 1 done: 2 node(s) succeeded, 0 failed",
            "batch 2 started: 2 node(s)",
            "batch 2 done: 2 node(s) succeeded, 0 failed",
            "batch 3 started: 1 node(s)",
            "batch 3 done: 1 node(s) succeeded, 0 failed",
        ]
    );
    assert!(nodes.iter().all(|n| n.state == w::STATE_SUCCESS));
}

async fn an_unfilled_placeholder_and_a_built_in_step_fail_clearly(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = one_step(
        &app,
        "needs",
        json!({"module": "shell", "args": "echo {{nowhere}}"}),
    )
    .await;
    let (id, done) = app.run(&task(tpl, &["127.0.0.2"], 0, false)).await;
    assert_eq!(done.status, w::STATE_FAILED);
    let (_, log) = first_node(&app, id).await;
    assert!(
        log.contains("placeholder `{{nowhere}}` has no value"),
        "{log}"
    );

    let tpl = template(&app, vec![step("create_vm", json!({}), 0, false)]).await;
    let (id, done) = app.run(&task(tpl, &["127.0.0.2"], 0, false)).await;
    assert_eq!(done.status, w::STATE_FAILED);
    let (_, log) = first_node(&app, id).await;
    assert!(
        log.contains(
            "built-in step `create_vm` needs cloud-portal, which is not configured (`peers.cloud_portal.url`)"
        ),
        "{log}"
    );
}

async fn a_failed_task_resumes_from_the_failed_step_and_a_finished_one_is_refused(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    // Fails until the marker file exists; the first step must not run again on resume.
    let dir = tempfile::tempdir().expect("a temp folder");
    let marker = dir.path().join("ready");
    let counter = dir.path().join("first-runs");
    app.remote(
        "first",
        json!({"module": "shell", "args": format!("echo x >> {}", counter.display())}),
    )
    .await;
    app.remote(
        "gate",
        json!({"module": "shell", "args": format!("test -e {}", marker.display())}),
    )
    .await;
    let tpl = template(
        &app,
        vec![
            step("first", json!({}), 0, false),
            step("gate", json!({}), 0, false),
        ],
    )
    .await;
    let (id, done) = app
        .run(&task(tpl, &["127.0.0.2", "127.0.0.3"], 0, false))
        .await;
    assert_eq!(done.status, w::STATE_FAILED);
    assert_eq!(done.stat, vec![0, 0, 0, 2, 0]);

    std::fs::write(&marker, "").expect("marker");
    app.client.start_task(id).await.expect("resumed");
    let done = app.wait_finished(id).await;
    assert_eq!(done.status, w::STATE_SUCCESS, "{:?}", done.stat);
    let runs = std::fs::read_to_string(&counter).expect("counter");
    assert_eq!(runs.lines().count(), 2, "`first` ran once per node");

    let err = app.client.start_task(id).await.expect_err("finished");
    assert_api_error(
        &err,
        409,
        "only an INIT, FAILED or PAUSED task can be started",
    );
    let err = app.client.start_task(999_999).await.expect_err("unknown");
    assert_api_error(&err, 404, "task 999999 not found");
}

async fn auto_starts_the_task_at_creation(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = one_step(&app, "say", say()).await;
    let id = app
        .client
        .create_task(&task(tpl, &["127.0.0.2"], 0, true))
        .await
        .expect("created");
    let done = app.wait_finished(id).await;
    assert_eq!(done.status, w::STATE_SUCCESS);
    let log = app.client.task_log(id).await.expect("log");
    assert!(log
        .iter()
        .any(|r| r.message == "task started by tester (auto at creation)"));
}

async fn a_stopped_task_stops_after_the_running_step_and_cannot_start_again(backend: TestBackend) {
    // One node at a time, batches of one: node 1 is inside `slow` when the stop comes.
    let app = TestApp::spawn_with(backend, 1).await;
    app.remote(
        "slow",
        json!({"module": "shell", "args": "sleep 2; echo slept"}),
    )
    .await;
    app.remote("say", say()).await;
    let tpl = template(
        &app,
        vec![
            step("slow", json!({}), 0, false),
            step("say", json!({}), 0, false),
        ],
    )
    .await;
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let id = start(&app, &task(tpl, &hosts, 1, false)).await;
    wait_first_node_running(&app, id).await;
    app.client.stop_task(id).await.expect("stopped");
    assert_eq!(
        app.client.task(id).await.expect("task").status,
        w::STATE_STOPPED
    );
    // The run ends once node 1 has finished `slow`.
    let log = wait_log(&app, id, "task run ended STOPPED").await;
    let text: Vec<&str> = log.iter().map(String::as_str).collect();
    assert!(
        text.iter()
            .any(|m| m.contains("`slow` attempt 1/1 on `127.0.0.2`: ok")),
        "{text:?}"
    );
    assert!(
        !text.iter().any(|m| m.contains("`say` attempt")),
        "{text:?}"
    );
    assert!(!text.iter().any(|m| m.starts_with("batch 2")), "{text:?}");
    let nodes = app.client.task_detail(id).await.expect("detail");
    let states: Vec<(w::TaskState, i64)> = nodes.iter().map(|n| (n.state, n.step)).collect();
    assert_eq!(
        states,
        vec![
            (w::STATE_STOPPED, 1),
            (w::STATE_STOPPED, 0),
            (w::STATE_STOPPED, 0)
        ]
    );
    let task = app.client.task(id).await.expect("task");
    assert_eq!(
        (task.status, task.stat.clone()),
        (w::STATE_STOPPED, vec![0, 0, 0, 0, 3])
    );

    let err = app
        .client
        .start_task(id)
        .await
        .expect_err("stopped for good");
    assert_api_error(&err, 409, "task");
    assert_api_error(&err, 409, "is STOPPED");
    let err = app.client.stop_task(id).await.expect_err("already stopped");
    assert_api_error(
        &err,
        409,
        "only an INIT, RUNNING, PAUSED or FAILED task can be stopped",
    );
}

async fn the_task_timeout_kills_the_running_step_and_fails_the_task(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = one_step(
        &app,
        "slow",
        json!({"module": "shell", "args": "sleep 30; echo never"}),
    )
    .await;
    // Two batches of one: the timeout hits node 1, node 2 never starts.
    let mut req = task(tpl, &["127.0.0.2", "127.0.0.3"], 1, false);
    req.timeout = Some(1);
    let started = std::time::Instant::now();
    let (id, done) = app.run(&req).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert_eq!(done.status, w::STATE_FAILED);
    assert_eq!(done.stat, vec![1, 0, 0, 1, 0]);
    let nodes = app.client.task_detail(id).await.expect("detail");
    assert_eq!((nodes[0].state, nodes[0].step), (w::STATE_FAILED, 0));
    assert_eq!(nodes[1].state, w::STATE_INIT);
    let log = app.client.task_log(id).await.expect("log");
    let text: Vec<&str> = log.iter().map(|r| r.message.as_str()).collect();
    assert!(
        text.iter().any(|m| m.contains(
            "failed at step `slow`: the task timeout of 1 s was reached; its command was killed"
        )),
        "{text:?}"
    );
    let last = text.last().expect("rows");
    assert!(
        last.ends_with("the task timeout of 1 s was reached"),
        "{last}"
    );
}

async fn start_and_stop_refuse_bad_ids(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for path in ["/task/start", "/task/stop"] {
        assert_error(
            &app.post(path, json!({})).await,
            400,
            "missing parameter `id`",
        );
        assert_error(
            &app.post(path, json!({"id": "abc"})).await,
            400,
            "invalid id",
        );
        assert_error(
            &app.post(&format!("{path}/0"), json!({})).await,
            400,
            "invalid id",
        );
        assert_error(
            &app.post(path, json!({"id": 77})).await,
            404,
            "task 77 not found",
        );
        assert_error(
            &app.post(&format!("{path}/77"), json!({})).await,
            404,
            "task 77 not found",
        );
        assert_error(
            &app.post(path, json!({"id": 1, "x": 1})).await,
            400,
            "unknown parameter `x`",
        );
    }
}

/// Waits (up to 30 s) until a task-log row starts with `prefix`; returns the log's messages.
async fn wait_log(app: &TestApp, id: i64, prefix: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = app.client.task_log(id).await.expect("log");
        if log.iter().any(|r| r.message.starts_with(prefix)) {
            return log.into_iter().map(|r| r.message).collect();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no `{prefix}` in {log:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits (up to 20 s) until the first node of the task is RUNNING.
async fn wait_first_node_running(app: &TestApp, id: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let nodes = app.client.task_detail(id).await.expect("detail");
        if nodes[0].state == w::STATE_RUNNING {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "node 1 never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A three-step template: `slow` (2 s), then `say` twice (as `say` and `again`).
async fn pausable(app: &TestApp) -> i64 {
    app.remote(
        "slow",
        json!({"module": "shell", "args": "sleep 2; echo slept {{word}}"}),
    )
    .await;
    app.remote("say", say()).await;
    app.remote("again", say()).await;
    template(
        app,
        vec![
            step("slow", json!({}), 0, false),
            step("say", json!({}), 0, false),
            step("again", json!({}), 0, false),
        ],
    )
    .await
}

fn count(log: &[String], needle: &str) -> usize {
    log.iter().filter(|m| m.contains(needle)).count()
}

async fn a_paused_task_waits_at_the_step_boundary_and_resumes_where_each_node_stopped(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    let tpl = pausable(&app).await;
    // Batch 1: nodes 1 and 2 together; batch 2: node 3.
    let hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    let id = start(&app, &task(tpl, &hosts, 2, false)).await;
    wait_first_node_running(&app, id).await;
    app.client.pause_task(id).await.expect("paused");
    assert_eq!(
        app.client.task(id).await.expect("task").status,
        w::STATE_PAUSED
    );
    let err = app.client.pause_task(id).await.expect_err("paused twice");
    assert_api_error(&err, 409, "is PAUSED; only a RUNNING task can be paused");
    // Nodes 1 and 2 are inside `slow` (2 s): the paused run has not ended yet.
    let err = app.client.start_task(id).await.expect_err("still pausing");
    assert_api_error(&err, 409, "is still pausing");

    let log = wait_log(&app, id, "task run paused").await;
    assert!(
        log.iter()
            .any(|m| m == "task run paused: 0 of 3 node(s) succeeded, 3 wait for /task/start"),
        "{log:?}"
    );
    assert_eq!(
        count(&log, "`slow` attempt 1/1 on `127.0.0.2`: ok"),
        1,
        "{log:?}"
    );
    assert_eq!(
        count(&log, "`slow` attempt 1/1 on `127.0.0.3`: ok"),
        1,
        "{log:?}"
    );
    assert_eq!(count(&log, "`say` attempt"), 0, "{log:?}");
    assert_eq!(count(&log, "batch 2 started"), 0, "{log:?}");
    assert_eq!(count(&log, "paused before step `say`"), 2, "{log:?}");
    let nodes = app.client.task_detail(id).await.expect("detail");
    let states: Vec<(w::TaskState, i64)> = nodes.iter().map(|n| (n.state, n.step)).collect();
    assert_eq!(
        states,
        vec![(w::STATE_INIT, 1), (w::STATE_INIT, 1), (w::STATE_INIT, 0)]
    );
    let task = app.client.task(id).await.expect("task");
    assert_eq!(
        (task.status, task.stat.clone()),
        (w::STATE_PAUSED, vec![3, 0, 0, 0, 0])
    );
    // Stays paused: nothing runs while it waits.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.client.task(id).await.expect("task").status,
        w::STATE_PAUSED
    );

    // Resumed: each node goes on from its step, with the task's parameters and node vars.
    app.client.start_task(id).await.expect("resumed");
    let done = app.wait_finished(id).await;
    assert_eq!(
        (done.status, done.stat.clone()),
        (w::STATE_SUCCESS, vec![0, 0, 3, 0, 0])
    );
    let log: Vec<String> = app
        .client
        .task_log(id)
        .await
        .expect("log")
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert_eq!(count(&log, "task resumed by tester"), 1, "{log:?}");
    for (i, ip) in hosts.iter().enumerate() {
        // No step ran twice on any node.
        assert_eq!(count(&log, &format!("`slow` attempt 1/1 on `{ip}`: ok")), 1);
        assert_eq!(count(&log, &format!("`say` attempt 1/1 on `{ip}`: ok")), 1);
        assert_eq!(
            count(&log, &format!("`again` attempt 1/1 on `{ip}`: ok")),
            1
        );
        let text = app.node_log_text(nodes[i].id).await;
        assert!(
            text.contains(&format!("task-word on {ip} as vm{i}")),
            "{text}"
        );
    }
    assert!(log.iter().any(|m| m.contains("slept task-word")), "{log:?}");
    let nodes = app.client.task_detail(id).await.expect("detail");
    assert!(nodes
        .iter()
        .all(|n| (n.state, n.step) == (w::STATE_SUCCESS, 3)));
    let last = log.last().expect("rows");
    assert!(
        last.starts_with("task finished SUCCESS: 3 of 3 node(s) succeeded"),
        "{last}"
    );
}

async fn a_paused_task_can_be_stopped_and_pause_refuses_other_states(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = pausable(&app).await;
    let hosts = ["127.0.0.2", "127.0.0.3"];
    let id = app
        .client
        .create_task(&task(tpl, &hosts, 1, false))
        .await
        .expect("created");
    let err = app.client.pause_task(id).await.expect_err("INIT");
    assert_api_error(&err, 409, "is INIT; only a RUNNING task can be paused");
    app.client.start_task(id).await.expect("started");
    wait_first_node_running(&app, id).await;
    app.client.pause_task(id).await.expect("paused");
    wait_log(&app, id, "task run paused").await;
    app.client.stop_task(id).await.expect("stopped");
    let task = app.client.task(id).await.expect("task");
    assert_eq!(
        (task.status, task.stat.clone()),
        (w::STATE_STOPPED, vec![0, 0, 0, 0, 2])
    );
    let nodes = app.client.task_detail(id).await.expect("detail");
    let states: Vec<(w::TaskState, i64)> = nodes.iter().map(|n| (n.state, n.step)).collect();
    assert_eq!(states, vec![(w::STATE_STOPPED, 1), (w::STATE_STOPPED, 0)]);
    let err = app.client.start_task(id).await.expect_err("stopped");
    assert_api_error(&err, 409, "is STOPPED");
    let err = app.client.pause_task(id).await.expect_err("stopped");
    assert_api_error(&err, 409, "is STOPPED; only a RUNNING task can be paused");
    for path in ["/task/pause", "/task/pause/77"] {
        let body = if path == "/task/pause" {
            json!({"id": 77})
        } else {
            json!({})
        };
        assert_error(&app.post(path, body).await, 404, "task 77 not found");
    }
    assert_error(
        &app.post("/task/pause", json!({})).await,
        400,
        "missing parameter `id`",
    );
}

async fn a_pause_during_the_last_step_lets_the_task_finish(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = one_step(
        &app,
        "slow",
        json!({"module": "shell", "args": "sleep 2; echo slept"}),
    )
    .await;
    let id = start(&app, &task(tpl, &["127.0.0.2"], 1, false)).await;
    wait_first_node_running(&app, id).await;
    app.client.pause_task(id).await.expect("paused");
    // Nothing is left to wait: the task ends as if it had not been paused.
    let done = app.wait_finished_after_pause(id).await;
    assert_eq!(
        (done.status, done.stat.clone()),
        (w::STATE_SUCCESS, vec![0, 0, 1, 0, 0])
    );
}

/// Runs ansible's `copy` module (`content` to `dest`) on 127.0.0.2: the task and the node's log.
async fn copy_on_one_node(
    app: &TestApp,
    content: &str,
    dest: &std::path::Path,
) -> (w::Task, String) {
    let tpl = one_step(
        app,
        "put",
        json!({"module": "copy", "content": content, "dest": dest.display().to_string()}),
    )
    .await;
    let (id, done) = app.run(&task(tpl, &["127.0.0.2"], 0, false)).await;
    let (_, log) = first_node(app, id).await;
    (done, log)
}

async fn other_modules_run_with_ansible(backend: TestBackend) {
    let app = TestApp::spawn_with_ansible(backend).await;
    let dir = tempfile::tempdir().expect("a temp folder");
    let dest = dir.path().join("copied.txt");
    let (done, log) = copy_on_one_node(&app, "from {{ip}}", &dest).await;
    assert_eq!(done.status, w::STATE_SUCCESS, "{log}");
    let text = std::fs::read_to_string(&dest).expect("the copied file");
    assert_eq!(
        text, "from 127.0.0.2",
        "ansible's copy module wrote the filled content"
    );
}

async fn other_modules_fail_saying_ansible_is_not_installed(backend: TestBackend) {
    let app = TestApp::spawn_config(backend, 4, |config| {
        config.ansible.program = "/nonexistent/ansible".into();
    })
    .await;
    let dir = tempfile::tempdir().expect("a temp folder");
    let dest = dir.path().join("copied.txt");
    let (done, log) = copy_on_one_node(&app, "x", &dest).await;
    assert_eq!(done.status, w::STATE_FAILED);
    assert!(
        log.contains("ansible is not installed (`/nonexistent/ansible` not found; set `ansible.program`): module `copy` needs it"),
        "{log}"
    );
    assert!(!dest.exists());
}
