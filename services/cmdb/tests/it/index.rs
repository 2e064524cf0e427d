//! The in-memory search index: it follows this process's writes, the writes of another cmdb
//! process on the same database, and is rebuilt from the tables at start.

use kit::testing::TestBackend;
use serde_json::{json, Value};

use crate::support::TestApp;

kit::on_both_backends!(
    writes_of_another_process_are_found,
    updates_and_deletes_are_reflected,
    batch_writes_are_reflected,
    deleting_an_attribute_drops_its_values_from_search,
    catalog_changes_of_another_process_are_seen_by_the_next_search,
    the_index_is_rebuilt_at_start,
);

/// MariaDB only: two processes writing one SQLite file at once is not a set-up cmdb supports
/// (a deferred transaction that must become a writer after the other process committed
/// fails at once with "database is locked"; one process queues its own writers).
#[actix_web::test]
async fn concurrent_writes_of_two_processes_are_all_found_on_mariadb() {
    concurrent_writes_of_two_processes_are_all_found(TestBackend::Mysql).await
}

/// The sorted hostnames `q` finds on `app`, checked against `numfound`.
async fn found(app: &TestApp, q: &str) -> Vec<String> {
    let result = app
        .admin
        .search(json!({"q": q, "count": 100}))
        .await
        .expect("search");
    let mut names: Vec<String> = result
        .result
        .iter()
        .map(|ci| ci["hostname"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    assert_eq!(result.numfound as usize, names.len(), "{q}");
    names
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The facet of `attr` over what `q` finds: `(value, count)` pairs.
async fn facet(app: &TestApp, q: &str, attr: &str) -> Vec<(Value, i64)> {
    let result = app
        .admin
        .search(json!({"q": q, "facet": attr}))
        .await
        .expect("search");
    result
        .facet
        .get(attr)
        .map(|rows| rows.iter().map(|(v, n, _)| (v.clone(), *n)).collect())
        .unwrap_or_default()
}

async fn writes_of_another_process_are_found(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    first.server_model().await;
    first
        .add_server(json!({"hostname": "web-1", "idc": "IDC-A", "cpu_core_num": 8}))
        .await;
    // The first process has searched (and so indexed) before the second one writes.
    assert_eq!(found(&first, "hostname:web-*").await, names(&["web-1"]));

    let second = first.another().await;
    second
        .add_server(json!({"hostname": "web-2", "idc": "IDC-B", "cpu_core_num": 16}))
        .await;
    assert_eq!(
        found(&first, "hostname:web-*").await,
        names(&["web-1", "web-2"])
    );
    assert_eq!(found(&first, "cpu_core_num:>=16").await, names(&["web-2"]));
    assert_eq!(
        facet(&first, "hostname:web-*", "idc").await,
        vec![(json!("IDC-A"), 1), (json!("IDC-B"), 1)]
    );
    // And the other way round.
    first
        .add_server(json!({"hostname": "web-3", "idc": "IDC-B"}))
        .await;
    assert_eq!(
        found(&second, "idc:IDC-B").await,
        names(&["web-2", "web-3"])
    );
}

async fn updates_and_deletes_are_reflected(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    first.server_model().await;
    let one = first
        .add_server(json!({"hostname": "db-1", "idc": "IDC-A", "status": "online"}))
        .await;
    let two = first
        .add_server(json!({"hostname": "db-2", "idc": "IDC-A", "status": "online"}))
        .await;
    assert_eq!(found(&first, "idc:IDC-A").await, names(&["db-1", "db-2"]));

    // This process's own update: the old value no longer finds the CI, the new one does.
    first
        .admin
        .update_ci(json!({"ci_type": "server", "ci_id": one, "idc": "IDC-C"}))
        .await
        .expect("updated");
    assert_eq!(found(&first, "idc:IDC-A").await, names(&["db-2"]));
    assert_eq!(found(&first, "idc:IDC-C").await, names(&["db-1"]));

    // Another process's update and delete.
    let second = first.another().await;
    second
        .admin
        .update_ci(json!({"ci_type": "server", "hostname": "db-2", "status": "offline"}))
        .await
        .expect("updated");
    assert_eq!(found(&first, "status:offline").await, names(&["db-2"]));
    assert_eq!(found(&first, "~status:offline").await, names(&["db-1"]));
    second.admin.delete_ci(two).await.expect("deleted");
    assert_eq!(found(&first, "hostname:db-*").await, names(&["db-1"]));
    assert_eq!(found(&first, "status:offline").await, Vec::<String>::new());
    assert_eq!(
        facet(&first, "hostname:db-*", "status").await,
        vec![(json!("online"), 1)]
    );
    // Clearing a value removes it from the index too.
    second
        .admin
        .update_ci(json!({"ci_type": "server", "ci_id": one, "status": ""}))
        .await
        .expect("cleared");
    assert_eq!(found(&first, "status:*").await, Vec::<String>::new());
    assert_eq!(found(&first, "hostname:db-1").await, names(&["db-1"]));
}

async fn batch_writes_are_reflected(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    first.server_model().await;
    first
        .add_server(json!({"hostname": "old", "cpu_core_num": 2}))
        .await;
    assert_eq!(found(&first, "cpu_core_num:2").await, names(&["old"]));
    let second = first.another().await;
    let done = second
        .admin
        .batch_cis(json!({
            "ci_type": "server",
            "cis": [
                {"hostname": "new", "cpu_core_num": 4},
                {"hostname": "old", "cpu_core_num": 8},
                {"hostname": "bad", "cpu_core_num": "many"},
            ],
        }))
        .await
        .expect("batch");
    assert_eq!((done.added, done.updated, done.failed), (1, 1, 1));
    assert_eq!(found(&first, "cpu_core_num:2").await, Vec::<String>::new());
    assert_eq!(
        found(&first, "cpu_core_num:[4 _TO_ 8]").await,
        names(&["new", "old"])
    );
    // The refused row left nothing behind.
    assert_eq!(found(&first, "hostname:bad").await, Vec::<String>::new());
}

async fn deleting_an_attribute_drops_its_values_from_search(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    first.server_model().await;
    first
        .add_server(json!({"hostname": "h1", "status": "retired"}))
        .await;
    // A bare value searches every text attribute.
    assert_eq!(found(&first, "retired").await, names(&["h1"]));
    let second = first.another().await;
    let status = second
        .admin
        .attribute("status")
        .await
        .expect("status")
        .attribute
        .attr_id;
    second
        .admin
        .delete_attribute(status)
        .await
        .expect("attribute deleted");
    assert_eq!(found(&first, "retired").await, Vec::<String>::new());
    assert_eq!(found(&first, "h1").await, names(&["h1"]));
}

/// Searches plan and render with the catalog the index keeps (not read per search): a
/// catalog change acknowledged by one process is in the next search of any other.
async fn catalog_changes_of_another_process_are_seen_by_the_next_search(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    let type_id = first.server_model().await;
    first.add_server(json!({"hostname": "r-1"})).await;
    // The first process has searched, so it holds the catalog, before the second changes it.
    let before = first
        .admin
        .search(json!({"q": "hostname:r-1"}))
        .await
        .expect("search");
    assert_eq!(before.result[0]["ci_type_alias"], json!("服务器"));
    assert!(before.result[0].get("rack").is_none());

    let second = first.another().await;
    let a = &second.admin;
    a.update_citype(type_id, json!({"type_alias": "Box"}))
        .await
        .expect("type updated");
    let rack = a
        .add_attribute(json!({"attr_name": "rack"}))
        .await
        .expect("attribute added")
        .attr_id;
    a.bind_attributes(type_id, &[rack], false)
        .await
        .expect("bound");
    a.update_ci(json!({"ci_type": "server", "hostname": "r-1", "rack": "R7"}))
        .await
        .expect("updated");

    // A new attribute in `q`, a new alias and a new binding on the page.
    let after = first
        .admin
        .search(json!({"q": "rack:R7"}))
        .await
        .expect("search by the new attribute");
    assert_eq!(after.numfound, 1);
    assert_eq!(after.result[0]["ci_type_alias"], json!("Box"));
    assert_eq!(after.result[0]["rack"], json!("R7"));

    // Unbinding takes the attribute off the page of the next search there too.
    a.unbind_attributes(type_id, &[rack])
        .await
        .expect("unbound");
    let unbound = first
        .admin
        .search(json!({"q": "hostname:r-1"}))
        .await
        .expect("search");
    assert!(unbound.result[0].get("rack").is_none(), "{unbound:?}");
    // Renaming an attribute: the old name is unknown to the next search, the new one found.
    a.update_attribute(rack, json!({"attr_name": "shelf"}))
        .await
        .expect("renamed");
    assert_eq!(
        first
            .admin
            .search(json!({"q": "shelf:R7"}))
            .await
            .expect("search by the new name")
            .numfound,
        1
    );
    assert!(first.admin.search(json!({"q": "rack:R7"})).await.is_err());
}

async fn the_index_is_rebuilt_at_start(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    first.server_model().await;
    for (name, cpu) in [("a-1", 4), ("a-2", 8), ("a-3", 16)] {
        first
            .add_server(json!({"hostname": name, "cpu_core_num": cpu, "nic": ["eth0", "eth1"]}))
            .await;
    }
    let gone = first.add_server(json!({"hostname": "a-4"})).await;
    first.admin.delete_ci(gone).await.expect("deleted");
    first.stop().await;

    // A new process knows only what the tables hold.
    let restarted = first.another().await;
    assert_eq!(
        found(&restarted, "hostname:a-*").await,
        names(&["a-1", "a-2", "a-3"])
    );
    assert_eq!(
        found(&restarted, "cpu_core_num:>4").await,
        names(&["a-2", "a-3"])
    );
    assert_eq!(
        facet(&restarted, "hostname:a-*", "nic").await,
        vec![(json!("eth0"), 3), (json!("eth1"), 3)]
    );
}

/// Two processes write at the same time while the first one keeps searching (and so keeps
/// catching up between commits): once both are done, it has missed none of the writes.
async fn concurrent_writes_of_two_processes_are_all_found(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    first.server_model().await;
    let second = first.another().await;
    let write = |app: &TestApp, prefix: &'static str| {
        let admin = app.admin.clone();
        async move {
            for i in 0..15 {
                admin
                    .add_ci(json!({"ci_type": "server", "hostname": format!("{prefix}-{i:02}")}))
                    .await
                    .expect("CI added");
            }
        }
    };
    let search = async {
        for _ in 0..15 {
            first
                .admin
                .search(json!({"q": "hostname:*"}))
                .await
                .expect("search");
        }
    };
    tokio::join!(write(&first, "one"), write(&second, "two"), search);
    let mut expected: Vec<String> = (0..15)
        .flat_map(|i| [format!("one-{i:02}"), format!("two-{i:02}")])
        .collect();
    expected.sort();
    assert_eq!(found(&first, "hostname:*").await, expected);
    assert_eq!(found(&second, "hostname:*").await, expected);
}
