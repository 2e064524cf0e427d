//! "Already exists" is the caller's conflict, not a server failure: when many callers create
//! the same thing at once, one wins and every other one gets a 400 in cmdb's envelope saying
//! what already exists — whether the service's own check or the database's unique key
//! caught it. No 500 at all.

use client::Method;
use kit::testing::TestBackend;
use serde_json::{json, Value};

use crate::support::TestApp;

kit::on_both_backends!(
    concurrent_creates_of_one_attribute_have_one_winner_and_400s,
    concurrent_creates_of_one_citype_have_one_winner_and_400s,
    concurrent_creates_of_one_user_have_one_winner_and_400s,
    concurrent_cis_with_one_unique_value_have_one_winner_and_400s,
    concurrent_creates_of_one_relation_have_one_winner_and_400s,
);

/// How many callers race.
const RACERS: usize = 10;

/// Sends the same signed request `RACERS` times at once (spread over `apps`, which share a
/// database) and returns each answer's status and body.
async fn race(apps: &[&TestApp], method: Method, path: &str, params: Value) -> Vec<(u16, Value)> {
    let calls = (0..RACERS).map(|i| {
        let client = &apps[i % apps.len()].admin;
        let method = method.clone();
        let params = params.clone();
        async move {
            let reply = client
                .call_raw(method, path, &params)
                .await
                .expect("the service answers");
            (reply.status.as_u16(), reply.body)
        }
    });
    futures_util::future::join_all(calls).await
}

/// Exactly one 200; every other answer a 400 whose body is cmdb's envelope (`message` and
/// nothing else) saying that `what` already exists.
fn one_winner(answers: &[(u16, Value)], what: &str) {
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one winner: {answers:?}"
    );
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 400, "a loser gets 400, not a server error: {body}");
        let envelope = body.as_object().expect("a JSON object");
        assert_eq!(envelope.len(), 1, "only `message`: {body}");
        let message = envelope["message"].as_str().expect("a text message");
        assert!(
            message.contains(what) && message.contains("already exists"),
            "says what already exists: {message}"
        );
    }
}

async fn concurrent_creates_of_one_attribute_have_one_winner_and_400s(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let answers = race(
        &[&app],
        Method::POST,
        "/attributes",
        json!({"attr_name": "serial", "attr_alias": "SN"}),
    )
    .await;
    one_winner(&answers, "serial");
    let listed = app.admin.attributes(Some("serial")).await.expect("list");
    assert_eq!(listed.numfound, 1);
}

async fn concurrent_creates_of_one_citype_have_one_winner_and_400s(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.add_sn().await;
    let answers = race(
        &[&app],
        Method::POST,
        "/citypes",
        json!({"type_name": "rack", "unique": "sn"}),
    )
    .await;
    one_winner(&answers, "citype `rack`");
    let listed = app.admin.citypes(Some("rack")).await.expect("list");
    assert_eq!(listed.numfound, 1);
}

async fn concurrent_creates_of_one_user_have_one_winner_and_400s(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let answers = race(
        &[&app],
        Method::POST,
        "/users",
        json!({"username": "carol", "is_admin": 0}),
    )
    .await;
    one_winner(&answers, "user `carol`");
    app.admin.user("carol").await.expect("carol exists");
}

/// Two processes on one database as well as one: the losers of a race across processes are
/// caught by the database's unique key, not by the service's check.
async fn concurrent_cis_with_one_unique_value_have_one_winner_and_400s(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let answers = race(
        &[&app],
        Method::POST,
        "/ci",
        json!({"ci_type": "server", "hostname": "web-01", "status": "new"}),
    )
    .await;
    one_winner(&answers, "`web-01` already exists");
    if backend == TestBackend::Mysql {
        let other = app.another().await;
        let answers = race(
            &[&app, &other],
            Method::POST,
            "/ci",
            json!({"ci_type": "server", "hostname": "web-02"}),
        )
        .await;
        one_winner(&answers, "`web-02` already exists");
    }
    let found = app
        .admin
        .search(json!({"q": "hostname:web-0*"}))
        .await
        .expect("search");
    let expected = if backend == TestBackend::Mysql { 2 } else { 1 };
    assert_eq!(found.numfound, expected, "one CI per unique value");
}

async fn concurrent_creates_of_one_relation_have_one_winner_and_400s(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let server = app.server_model().await;
    let web = app.add_server(json!({"hostname": "web"})).await;
    let db = app.add_server(json!({"hostname": "db"})).await;
    let answers = race(
        &[&app],
        Method::POST,
        &format!("/cirelations/{web}/{db}"),
        json!({"relation_type": "connect"}),
    )
    .await;
    one_winner(&answers, &format!("ci relation {web} -> {db}"));
    let project = app
        .admin
        .add_citype(json!({"type_name": "project", "unique": "hostname"}))
        .await
        .expect("project")
        .type_id;
    let answers = race(
        &[&app],
        Method::POST,
        &format!("/cityperelations/{server}/{project}"),
        json!({"relation_type": "deploy"}),
    )
    .await;
    one_winner(&answers, "citype relation `server` -> `project`");
}
