//! Issue #13 in cmdb: every route's decision as the route table states it, the service
//! role's limit to the platform's own CI types, the verified subject in the history, and the
//! platform's model made at start.

use kit::auth::Role;
use kit::testing::access::route_access_problems;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_refused, TestApp};

kit::on_both_backends!(
    every_route_enforces_its_decision,
    a_viewer_reads_but_cannot_write_a_ci,
    a_service_writes_cis_of_platform_types_only,
    history_records_the_verified_subject,
    the_platform_model_is_made_at_start,
);

async fn every_route_enforces_its_decision(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let problems = route_access_problems(&app.server.url, &cmdb::table()).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn a_viewer_reads_but_cannot_write_a_ci(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let ci = app.add_server(json!({"hostname": "web-1"})).await;
    let viewer = app.bearer("vera", &[Role::Viewer]);
    assert_eq!(viewer.ci(ci).await.expect("a viewer reads").ci_id, ci);
    assert_refused(
        viewer
            .add_ci(json!({"ci_type": "server", "hostname": "web-2"}))
            .await,
        403,
        &["vera"],
    );
    assert_refused(viewer.delete_ci(ci).await, 403, &["vera"]);
    // An operator writes CIs but not the model.
    let operator = app.bearer("otto", &[Role::Operator]);
    operator
        .add_ci(json!({"ci_type": "server", "hostname": "web-2"}))
        .await
        .expect("an operator writes CIs");
    assert_refused(
        operator.add_attribute(json!({"attr_name": "rack"})).await,
        403,
        &["otto"],
    );
    // An admin's token changes the model; no token and no signature is a 401.
    app.bearer("ada", &[Role::Admin])
        .add_attribute(json!({"attr_name": "rack"}))
        .await
        .expect("an admin changes the model");
    assert_refused(app.anonymous.ci(ci).await, 401, &["Bearer"]);
}

async fn a_service_writes_cis_of_platform_types_only(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| c.platform.ensure_types = true).await;
    app.server_model().await;
    let server = app.add_server(json!({"hostname": "web-1"})).await;
    let engine = app.bearer("task-engine", &[Role::Service]);
    // It reads what it writes: the platform's model and CIs.
    engine
        .query_citype("dcp_node")
        .await
        .expect("a service reads the platform's types");
    // The platform's types: add, update (through the batch's upsert), relate, delete.
    let pool = engine
        .add_ci(json!({"ci_type": "dcp_pool", "dcp_pool_key": "c1/web/p1", "pool": "p1"}))
        .await
        .expect("a service adds a dcp_ CI")
        .ci_id;
    let batch = engine
        .batch_cis(
            json!({"ci_type": "dcp_node", "cis": [{"dcp_node_key": "10.0.0.1", "ip": "10.0.0.1"}]}),
        )
        .await
        .expect("a service's batch");
    let node = batch.results[0].ci_id.expect("the node CI");
    let relation = engine
        .add_ci_relation(pool, node, "contain", None)
        .await
        .expect("a service relates dcp_ CIs")
        .cr_id;
    engine
        .delete_ci_relation(relation)
        .await
        .expect("and unrelates them");
    engine
        .delete_ci(node)
        .await
        .expect("a service deletes a dcp_ CI");
    // Any other type is refused, in cmdb's envelope, and leaves nothing.
    assert_refused(
        engine
            .add_ci(json!({"ci_type": "server", "hostname": "web-2"}))
            .await,
        403,
        &["task-engine", "service", "`server`"],
    );
    assert_refused(
        engine
            .update_ci(json!({"ci_type": "server", "ci_id": server, "status": "down"}))
            .await,
        403,
        &["`server`"],
    );
    assert_refused(engine.delete_ci(server).await, 403, &["`server`"]);
    assert_refused(
        engine.add_ci_relation(pool, server, "contain", None).await,
        403,
        &["`server`"],
    );
    let rows = engine
        .batch_cis(json!({"ci_type": "server", "cis": [{"hostname": "web-3"}]}))
        .await
        .expect("the batch answers row by row");
    assert_eq!((rows.failed, rows.results[0].status), (1, 403));
    let servers = app
        .admin
        .search(json!({"_type": "server"}))
        .await
        .expect("search");
    assert_eq!(servers.numfound, 1);
    // The model stays an admin's, even for the platform's own names.
    assert_eq!(
        crate::support::refused(
            engine
                .add_citype(json!({"type_name": "dcp_rack", "unique": "dcp_node_key"}))
                .await
        )
        .0,
        403
    );
    // A token holding operator beside service writes any type.
    app.bearer("ops-bot", &[Role::Service, Role::Operator])
        .update_ci(json!({"ci_type": "server", "ci_id": server, "status": "down"}))
        .await
        .expect("an operator's write");
}

async fn history_records_the_verified_subject(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let operator = app.bearer("alice@example.com", &[Role::Operator]);
    let ci = operator
        .add_ci(json!({"ci_type": "server", "hostname": "web-1"}))
        .await
        .expect("added")
        .ci_id;
    // A signature naming another user's key alongside the token changes nothing: the token
    // decides who wrote.
    let bob = app.admin.create_user("bob", false).await.expect("bob");
    app.bearer("alice@example.com", &[Role::Operator])
        .with_key(&bob.api_key, "not-even-bobs-secret")
        .update_ci(json!({"ci_type": "server", "ci_id": ci, "status": "up"}))
        .await
        .expect("updated with a token");
    let alices = app
        .admin
        .history(json!({"username": "alice@example.com"}))
        .await
        .expect("history");
    assert_eq!(alices.numfound, 2);
    let detail = app
        .admin
        .history_record(alices.records[0].record_id)
        .await
        .expect("detail");
    assert_eq!(detail.username, "alice@example.com");
    assert!(detail.attr_history.contains_key(&ci.to_string()));
    // A signed key records its cmdb user.
    app.anonymous
        .with_key(&bob.api_key, &bob.secret)
        .delete_ci(ci)
        .await
        .expect("bob deletes");
    let bobs = app
        .admin
        .history(json!({"username": "bob"}))
        .await
        .expect("history");
    assert_eq!(bobs.numfound, 1);
    let none = app
        .admin
        .history(json!({"username": "anonymous"}))
        .await
        .expect("history");
    assert_eq!(none.numfound, 0);
}

async fn the_platform_model_is_made_at_start(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| c.platform.ensure_types = true).await;
    let viewer = app.bearer("vera", &[Role::Viewer]);
    let mut ids = Vec::new();
    for ty in &cmdb::service::PLATFORM_TYPES {
        let found = viewer.query_citype(ty.name).await.expect("the type exists");
        let bound = viewer
            .type_attributes(found.citype.type_id)
            .await
            .expect("its attributes");
        let mut names: Vec<String> = bound
            .attributes
            .iter()
            .map(|a| a.attribute.attr_name.clone())
            .collect();
        names.sort();
        let mut wanted: Vec<String> = ty.attributes.iter().map(|a| a.to_string()).collect();
        wanted.push(ty.key.to_string());
        wanted.sort();
        assert_eq!(names, wanted, "{}", ty.name);
        ids.push(found.citype.type_id);
    }
    for pair in ids.windows(2) {
        let children = viewer.citype_children(pair[0]).await.expect("children");
        assert!(children
            .children
            .iter()
            .any(|c| c.citype.type_id == pair[1]));
    }
    // A second start (a replica, a restart) finds it all and adds nothing.
    let before = viewer.attributes(None).await.expect("list").numfound;
    let again = app.another().await;
    assert_eq!(
        again
            .bearer("vera", &[Role::Viewer])
            .attributes(None)
            .await
            .expect("list")
            .numfound,
        before
    );
    assert_eq!(viewer.citypes(None).await.expect("types").numfound, 3);
}
