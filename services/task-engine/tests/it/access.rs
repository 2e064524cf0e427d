//! Who may call what (issue #13): every route's decision, the task's actor taken from the
//! token, and tasks scoped to the cluster they belong to.

use client::{ClientConfig, Encoding, Method, TaskEngineClient};
use kit::auth::{Grant, Role};
use kit::testing::issuer::{issuer, TestIssuer};
use kit::testing::TestBackend;
use serde_json::{json, Value};

use crate::support::{assert_error, TestApp};

kit::on_both_backends!(
    every_route_enforces_its_decision,
    a_viewer_reads_tasks_but_cannot_create_start_pause_or_stop_them,
    a_task_records_the_verified_subject_not_the_opr_user_it_was_given,
    a_relayed_request_records_the_person_and_the_relaying_service,
    a_task_of_a_cluster_is_run_by_the_operators_of_that_cluster_only,
    a_scoped_viewer_lists_and_reads_only_the_tasks_of_its_clusters,
    defining_the_catalog_needs_an_admin,
);

async fn every_route_enforces_its_decision(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let problems =
        kit::testing::access::route_access_problems(app.url(), &task_engine::table()).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A template of one remote step (nothing runs: the tasks here are not started).
async fn template(app: &TestApp) -> i64 {
    app.action("echo", json!({})).await;
    app.remote_step("echo_step", &["echo"]).await;
    app.template("t", &["echo_step"]).await
}

fn task_body(template_id: i64, cluster_id: Option<i64>) -> Value {
    let mut body = json!({
        "template_id": template_id, "task_name": "t", "opr_user": "root",
        "nodes": [{"ip": "127.0.0.2"}],
    });
    if let Some(cluster) = cluster_id {
        body["cluster_id"] = json!(cluster);
    }
    body
}

async fn create(client: &TaskEngineClient, body: &Value) -> client::RawReply {
    client
        .call_raw(Method::POST, "/task/create", Encoding::Json, body)
        .await
        .expect("an answer")
}

async fn created(client: &TaskEngineClient, body: &Value) -> i64 {
    let reply = create(client, body).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    reply.body["data"].as_i64().expect("the task's id")
}

async fn post(client: &TaskEngineClient, path: &str, body: Value) -> client::RawReply {
    client
        .call_raw(Method::POST, path, Encoding::Json, &body)
        .await
        .expect("an answer")
}

fn scoped(subject: &str, role: Role, cluster: i64) -> String {
    issuer().scoped_token(subject, &[Grant { role, cluster }])
}

async fn a_viewer_reads_tasks_but_cannot_create_start_pause_or_stop_them(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let id = created(&app.client, &task_body(tpl, None)).await;
    let viewer = app.client_with(issuer().token("vera", &[Role::Viewer]));
    assert_eq!(viewer.task(id).await.expect("a viewer reads").id, id);
    assert_eq!(
        viewer
            .tasks(1, 10)
            .await
            .expect("a viewer lists")
            .data
            .len(),
        1
    );
    assert_error(&create(&viewer, &task_body(tpl, None)).await, 403, "vera");
    for path in ["/task/start", "/task/pause", "/task/stop"] {
        let reply = post(&viewer, path, json!({"id": id})).await;
        assert_error(&reply, 403, "vera");
    }
    let reply = post(&viewer, &format!("/task/start/{id}"), json!({})).await;
    assert_error(&reply, 403, "vera");
    // Nothing changed: the task is still INIT, its log says only its creation.
    let task = app.client.task(id).await.expect("task");
    assert_eq!(task.status, wire::task_engine::STATE_INIT);
}

async fn a_task_records_the_verified_subject_not_the_opr_user_it_was_given(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let alice = app.client_with(issuer().token("alice", &[Role::Operator]));
    // The seed's `opr_user` says root; the token says alice.
    let id = created(&alice, &task_body(tpl, None)).await;
    let task = app.client.task(id).await.expect("task");
    assert_eq!(task.opr_user, "alice");
    // Without `opr_user` at all, as the seed's clients may now send it.
    let mut body = task_body(tpl, None);
    body.as_object_mut().map(|o| o.remove("opr_user"));
    let id2 = created(&alice, &body).await;
    assert_eq!(app.client.task(id2).await.expect("task").opr_user, "alice");
    alice.stop_task(id).await.expect("alice stops her task");
    let log: Vec<String> = app
        .client
        .task_log(id)
        .await
        .expect("log")
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert!(log[0].contains("created by alice"), "{log:?}");
    assert!(
        log.iter().any(|m| m.starts_with("task stopped by alice")),
        "{log:?}"
    );
}

async fn a_relayed_request_records_the_person_and_the_relaying_service(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let orchestrator = TaskEngineClient::new(ClientConfig::new(app.url()).with_credentials(
        client::Credentials::client(
            &issuer().token_url(),
            "orchestrator",
            TestIssuer::client_secret("orchestrator").into(),
        ),
    ))
    .expect("client");
    let bob = scoped("bob", Role::Operator, 3);
    let for_bob = orchestrator.on_behalf_of(bob.into());
    let id = created(&for_bob, &task_body(tpl, Some(3))).await;
    assert_eq!(app.client.task(id).await.expect("task").opr_user, "bob");
    for_bob.stop_task(id).await.expect("stopped for bob");
    let log = app.client.task_log(id).await.expect("log");
    assert!(
        log.iter().any(|r| r
            .message
            .starts_with("task stopped by bob (via orchestrator)")),
        "{log:?}"
    );
    // Relayed, bob's roles decide: a task of cluster 4 is not his.
    assert_error(
        &create(&for_bob, &task_body(tpl, Some(4))).await,
        403,
        "bob",
    );
    // The orchestrator on its own (its schedules) creates and starts tasks.
    let own = created(&orchestrator, &task_body(tpl, Some(4))).await;
    assert_eq!(
        app.client.task(own).await.expect("task").opr_user,
        "orchestrator"
    );
}

async fn a_task_of_a_cluster_is_run_by_the_operators_of_that_cluster_only(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let op_a = app.client_with(scoped("olga", Role::Operator, 1));
    let op_b = app.client_with(scoped("boris", Role::Operator, 2));
    let a_task = created(&op_a, &task_body(tpl, Some(1))).await;
    // Not on another cluster, nor on a task of no cluster (platform-wide operators only).
    assert_error(
        &create(&op_a, &task_body(tpl, Some(2))).await,
        403,
        "cluster 2",
    );
    assert_error(&create(&op_a, &task_body(tpl, None)).await, 403, "olga");
    for path in ["/task/pause", "/task/stop", "/task/start"] {
        let reply = post(&op_b, path, json!({"id": a_task})).await;
        assert_error(&reply, 403, "cluster 1");
    }
    let reply = post(&op_b, &format!("/task/stop/{a_task}"), json!({})).await;
    assert_error(&reply, 403, "boris");
    // A task of no cluster: a scoped operator may not touch it.
    let platform_task = created(&app.client, &task_body(tpl, None)).await;
    let reply = post(&op_a, "/task/stop", json!({"id": platform_task})).await;
    assert_error(&reply, 403, "olga");
    // Its own operator stops it; a platform-wide operator may too.
    op_a.stop_task(a_task)
        .await
        .expect("olga stops her cluster's task");
    let op = app.client_with(issuer().token("otto", &[Role::Operator]));
    op.stop_task(platform_task)
        .await
        .expect("a platform operator stops it");
    // An unknown task is 404 before any decision.
    assert_error(
        &post(&op_b, "/task/stop", json!({"id": 9999})).await,
        404,
        "9999",
    );
}

async fn a_scoped_viewer_lists_and_reads_only_the_tasks_of_its_clusters(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let tpl = template(&app).await;
    let in_1 = created(&app.client, &task_body(tpl, Some(1))).await;
    let in_2 = created(&app.client, &task_body(tpl, Some(2))).await;
    let nowhere = created(&app.client, &task_body(tpl, None)).await;
    let viewer = app.client_with(scoped("vic", Role::Viewer, 1));
    let listed = viewer.tasks(1, 10).await.expect("listed");
    let ids: Vec<i64> = listed.data.iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![in_1]);
    assert_eq!(listed.query_count, 1);
    viewer.task(in_1).await.expect("its cluster's task");
    viewer.task_detail(in_1).await.expect("its nodes");
    viewer.task_log(in_1).await.expect("its log");
    let nodes = app.client.task_detail(in_2).await.expect("detail");
    for path in [
        format!("/task/{in_2}"),
        format!("/task/{in_2}/detail"),
        format!("/task/{in_2}/log"),
        format!("/task/{nowhere}"),
        format!("/task/node/{}/log", nodes[0].id),
    ] {
        assert_error(&post(&viewer, &path, json!({})).await, 403, "vic");
    }
    // A platform-wide viewer sees all three.
    let all = app.client_with(issuer().token("val", &[Role::Viewer]));
    assert_eq!(all.tasks(1, 10).await.expect("listed").data.len(), 3);
}

async fn defining_the_catalog_needs_an_admin(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let op = app.client_with(issuer().token("otto", &[Role::Operator]));
    for (path, body) in [
        ("/action/create", json!({"name": "a", "desc": "d"})),
        (
            "/actimpl/create",
            json!({"action_id": 1, "type": "ansible"}),
        ),
        ("/remote_step/create", json!({"name": "s", "desc": "d"})),
        ("/task_tpl/create", json!({"name": "t", "desc": "d"})),
    ] {
        assert_error(&post(&op, path, body).await, 403, "admin");
    }
    assert!(app
        .client
        .actions(1, 10)
        .await
        .expect("listed")
        .data
        .is_empty());
}
