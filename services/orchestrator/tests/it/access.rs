//! Who may call what (issue #13): every route's decision; roles granted on one cluster reach
//! its services, pools and flows only; a flow's task records the person who asked for it.

use client::{ClientError, Encoding, Method, OrchestratorClient};
use kit::auth::{Grant, Role};
use kit::testing::issuer::issuer;
use kit::testing::TestBackend;
use serde_json::json;

use crate::engine::Engine;
use crate::support::{assert_error, TestApp};

kit::on_both_backends!(
    every_route_enforces_its_decision,
    an_operator_of_one_cluster_runs_flows_there_only_and_the_task_records_them,
    a_scoped_viewer_sees_only_its_clusters,
    a_viewer_cannot_start_a_task_through_the_front_door,
);

async fn every_route_enforces_its_decision(backend: TestBackend) {
    // No task-engine: the forwarded routes answer 503 once the orchestrator has let them by.
    let app = TestApp::spawn(backend).await;
    let problems =
        kit::testing::access::route_access_problems(app.url(), &orchestrator::table()).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn scoped(subject: &str, role: Role, cluster: i64) -> String {
    issuer().scoped_token(subject, &[Grant { role, cluster }])
}

/// A cluster `name` with a service and a pool whose expand and deploy template is `tpl`; the
/// ids of the cluster and the pool.
async fn cluster_with_pool(app: &TestApp, name: &str, tpl: i64) -> (i64, i64) {
    let c = &app.client;
    let cluster = c.create_cluster(name, "", "1").await.expect("cluster");
    let service = c
        .create_service(&json!({
            "name": format!("{name}-web"), "docker_image": "web:1", "cluster_id": cluster
        }))
        .await
        .expect("service");
    let pool = c
        .create_pool(&json!({
            "name": format!("{name}-pool"), "vm_type": 1, "sd_id": 0, "service_id": service,
            "expand_tpl": tpl, "deploy_tpl": tpl,
        }))
        .await
        .expect("pool");
    (cluster, pool)
}

fn assert_forbidden(result: Result<impl std::fmt::Debug, ClientError>, who: &str) {
    let error = result.expect_err("refused");
    assert_eq!(error.status(), Some(403), "{error}");
    assert_eq!(error.code(), Some(403), "{error}");
    assert!(error.message().contains(who), "{error}");
}

async fn an_operator_of_one_cluster_runs_flows_there_only_and_the_task_records_them(
    backend: TestBackend,
) {
    let engine = Engine::spawn(backend).await;
    engine.remote_step("noop", "true").await;
    let tpl = engine.template("flow", &["noop"], json!({})).await;
    let app = TestApp::spawn_with(backend, &engine.url).await;
    let (a, pool_a) = cluster_with_pool(&app, "a", tpl).await;
    let (_, pool_b) = cluster_with_pool(&app, "b", tpl).await;
    let olga = app.client_with(scoped("olga", Role::Operator, a));

    // Expand on her cluster: the task is created for her (relayed), in her cluster.
    let fid = olga.expand(pool_a, 1).await.expect("olga expands her pool");
    let task = engine.client.task(fid).await.expect("the task");
    assert_eq!(task.opr_user, "olga");
    let log = engine.client.task_log(fid).await.expect("log");
    assert!(log[0].message.contains("created by olga"), "{log:?}");
    assert!(
        log.iter().any(|r| r
            .message
            .starts_with("task started by olga (via orchestrator)")),
        "{log:?}"
    );

    // Another cluster's pool: refused before anything is made.
    let before = engine.task_count().await;
    assert_forbidden(olga.expand(pool_b, 1).await, "cluster");
    assert_forbidden(olga.deploy(pool_b, 1, "web:2").await, "olga");
    assert_forbidden(olga.add_nodes(pool_b, &["10.9.9.9"]).await, "olga");
    assert_forbidden(
        olga.update_pool(pool_b, &json!({"desc": "x"})).await,
        "olga",
    );
    let reply = olga
        .call_raw(
            Method::POST,
            &format!("/pool/expand/{pool_b}"),
            Encoding::Json,
            &json!({"num": 1}),
        )
        .await
        .expect("an answer");
    assert_error(&reply, 403, "olga");
    assert_eq!(engine.task_count().await, before);
    assert!(app.nodes(pool_b).await.is_empty());
    // Clusters are admins' business.
    assert_forbidden(olga.create_cluster("c", "", "1").await, "admin");
    // A viewer of her cluster does not run flows there.
    let vera = app.client_with(scoped("vera", Role::Viewer, a));
    assert_forbidden(vera.expand(pool_a, 1).await, "vera");
    // The task-engine's events are for the task-engine only.
    let reply = olga
        .call_raw(
            Method::POST,
            "/internal/task_event",
            Encoding::Json,
            &json!({"fid": fid}),
        )
        .await
        .expect("an answer");
    assert_error(&reply, 403, "service");
    engine.stop().await;
}

async fn a_scoped_viewer_sees_only_its_clusters(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let (a, pool_a) = cluster_with_pool(&app, "a", 0).await;
    let (b, pool_b) = cluster_with_pool(&app, "b", 0).await;
    app.client
        .add_nodes(pool_a, &["10.0.0.1"])
        .await
        .expect("node");
    app.client
        .add_nodes(pool_b, &["10.0.0.2"])
        .await
        .expect("node");
    for (who, token) in [
        ("olga", scoped("olga", Role::Operator, a)),
        ("vera", scoped("vera", Role::Viewer, a)),
    ] {
        let client: OrchestratorClient = app.client_with(token);
        let listed = client.clusters(1, 10).await.expect("listed");
        let ids: Vec<i64> = listed.data.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![a], "{who}");
        assert_eq!(listed.query_count, 1, "{who}");
        client.cluster(a).await.expect("her cluster");
        client.pool(pool_a).await.expect("her pool");
        assert_forbidden(client.cluster(b).await, who);
        assert_forbidden(client.pool(pool_b).await, who);
        assert_forbidden(client.pool_nodes(pool_b, 1, 10).await, who);
        assert_forbidden(client.cluster_services(b, 1, 10).await, who);
        let found = client
            .search_by_ip(&["10.0.0.1", "10.0.0.2"])
            .await
            .expect("searched");
        assert_eq!(found.len(), 1, "{who}: {found:?}");
        assert_eq!(found["10.0.0.1"], json!(pool_a));
    }
    // Platform-wide, both.
    let viewer = app.client_with(issuer().token("val", &[Role::Viewer]));
    assert_eq!(viewer.clusters(1, 10).await.expect("listed").data.len(), 2);
}

async fn a_viewer_cannot_start_a_task_through_the_front_door(backend: TestBackend) {
    let engine = Engine::spawn(backend).await;
    engine.remote_step("noop", "true").await;
    let tpl = engine.template("flow", &["noop"], json!({})).await;
    let fid = engine
        .client
        .create_task(&wire::task_engine::TaskRequest {
            template_id: tpl,
            task_name: "t".into(),
            opr_user: "root".into(),
            nodes: vec![json!({"ip": "127.0.0.2"})],
            params: None,
            pool_name: None,
            max_num: None,
            max_ratio: None,
            timeout: None,
            auto: Some(false),
            notify_url: None,
            cluster_id: None,
        })
        .await
        .expect("a task");
    let app = TestApp::spawn_with(backend, &engine.url).await;
    let viewer = app.client_with(issuer().token("vera", &[Role::Viewer]));
    // She reads it through the orchestrator (the task-engine decides, on her token)...
    let reply = viewer
        .call_raw(
            Method::POST,
            &format!("/task/{fid}"),
            Encoding::Json,
            &json!({}),
        )
        .await
        .expect("an answer");
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    // ...and may not start it.
    let reply = viewer
        .call_raw(
            Method::POST,
            "/task/start",
            Encoding::Json,
            &json!({"id": fid}),
        )
        .await
        .expect("an answer");
    assert_error(&reply, 403, "vera");
    let task = engine.client.task(fid).await.expect("task");
    assert_eq!(task.status, wire::task_engine::STATE_INIT);
    // Without a token, the orchestrator refuses before forwarding (the seed's
    // `Authorization: root` too: see the route-table test).
    let anonymous = OrchestratorClient::new(client::ClientConfig::new(app.url())).expect("client");
    let reply = anonymous
        .call_raw(
            Method::POST,
            "/task/start",
            Encoding::Json,
            &json!({"id": fid}),
        )
        .await
        .expect("an answer");
    assert_error(&reply, 401, "Bearer");
    engine.stop().await;
}
