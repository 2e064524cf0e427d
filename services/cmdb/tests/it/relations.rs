//! CI type relations and CI relations, with the history of the latter.

use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_refused, refused, TestApp};

kit::on_both_backends!(
    citype_relations_link_types,
    ci_relations_link_cis_with_history,
    the_graph_holds_cis_within_n_hops_and_their_relations,
);

async fn citype_relations_link_types(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let server = app.server_model().await;
    let a = &app.admin;
    a.add_attribute(json!({"attr_name": "project_name", "is_uniq": 1}))
        .await
        .expect("attr");
    let project = a
        .add_citype(json!({"type_name": "project", "type_alias": "应用", "unique": "project_name"}))
        .await
        .expect("type")
        .type_id;
    let types = a
        .citype_relation_types()
        .await
        .expect("types")
        .relation_types;
    assert!(types.contains(&"deploy".to_string()));
    let ctr = a
        .add_citype_relation(server, project, "deploy")
        .await
        .expect("added")
        .ctr_id;
    let children = a.citype_children(server).await.expect("children").children;
    assert_eq!(children.len(), 1);
    assert_eq!(
        (children[0].ctr_id, children[0].citype.type_id),
        (ctr, project)
    );
    assert_eq!(children[0].citype.type_alias, "应用");
    let parents = a.citype_parents(project).await.expect("parents").parents;
    assert_eq!(parents.len(), 1);
    assert_eq!((parents[0].parent, parents[0].ctr_id), (server, ctr));
    assert_eq!(parents[0].relaltion_type, "deploy");
    assert_refused(
        a.add_citype_relation(server, project, "deploy").await,
        400,
        &["already exists"],
    );
    assert_refused(
        a.add_citype_relation(server, project, "likes").await,
        400,
        &["likes"],
    );
    assert_eq!(
        refused(a.add_citype_relation(server, 9999, "deploy").await).0,
        404
    );
    assert_eq!(
        a.delete_citype_relation(ctr)
            .await
            .expect("deleted")
            .message,
        "CIType relation deploy deleted"
    );
    assert!(a
        .citype_children(server)
        .await
        .expect("c")
        .children
        .is_empty());
    assert_eq!(refused(a.delete_citype_relation(ctr).await).0, 404);
}

async fn ci_relations_link_cis_with_history(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    let web = app.add_server(json!({"hostname": "web"})).await;
    let db = app.add_server(json!({"hostname": "db"})).await;
    let cache = app.add_server(json!({"hostname": "cache"})).await;
    assert!(a
        .ci_relation_types()
        .await
        .expect("types")
        .relation_types
        .contains(&"connect".to_string()));
    let to_db = a
        .add_ci_relation(web, db, "connect", None)
        .await
        .expect("added")
        .cr_id;
    let to_cache = a
        .add_ci_relation(web, cache, "connect", Some(db))
        .await
        .expect("added")
        .cr_id;
    let seconds = a.second_cis(web).await.expect("seconds");
    assert_eq!(seconds.numfound, 2);
    assert_eq!(seconds.second_cis[0]["hostname"], json!("db"));
    assert_eq!(seconds.second_cis[1]["_cr_id"], json!(to_cache));
    assert_eq!(seconds.second_cis[1]["ci_type"], json!("server"));
    let firsts = a.first_cis(db).await.expect("firsts");
    assert_eq!(firsts.numfound, 1);
    assert_eq!(firsts.first_cis[0]["_id"], json!(web));

    assert_refused(
        a.add_ci_relation(web, db, "connect", None).await,
        400,
        &["already exists"],
    );
    assert_eq!(
        refused(a.add_ci_relation(web, web, "connect", None).await).0,
        400
    );
    assert_eq!(
        refused(a.add_ci_relation(web, 99_999, "connect", None).await).0,
        404
    );
    assert_eq!(refused(a.second_cis(99_999).await).0, 404);

    a.delete_ci_relation(to_db).await.expect("deleted");
    assert_eq!(refused(a.delete_ci_relation(to_db).await).0, 404);
    assert_eq!(a.second_cis(web).await.expect("s").numfound, 1);

    // History: one record per relation change, old-style counts in the list.
    let list = a.history(json!({"page_size": 3})).await.expect("history");
    let deleted = &list.records[0];
    assert_eq!(deleted.rel_history.get("delete"), Some(&1));
    let detail = a.history_record(deleted.record_id).await.expect("detail");
    assert_eq!(
        detail.rel_history["delete"],
        vec![(web, "connect".to_string(), db)]
    );
    let added = a
        .history_record(list.records[1].record_id)
        .await
        .expect("detail");
    assert_eq!(
        added.rel_history["add"],
        vec![(web, "connect".to_string(), cache)]
    );

    // Deleting a CI removes its relations, and says so in history.
    a.delete_ci(cache).await.expect("deleted");
    assert_eq!(a.second_cis(web).await.expect("s").numfound, 0);
    let newest = a.history(json!({})).await.expect("h").records[0].clone();
    assert_eq!(newest.rel_history.get("delete"), Some(&1));
}

/// a -> b -> c -> d, and e -> b: from a, one hop reaches b; two reach c and e (following
/// relations either way); d is three hops away.
async fn the_graph_holds_cis_within_n_hops_and_their_relations(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    let mut id = std::collections::HashMap::new();
    for name in ["a", "b", "c", "d", "e"] {
        id.insert(name, app.add_server(json!({"hostname": name})).await);
    }
    let mut cr = std::collections::HashMap::new();
    for (first, second) in [("a", "b"), ("b", "c"), ("c", "d"), ("e", "b")] {
        let made = a
            .add_ci_relation(id[first], id[second], "connect", None)
            .await
            .expect("related");
        cr.insert((first, second), made.cr_id);
    }
    let names = |graph: &wire::cmdb::CiGraph| -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = graph
            .cis
            .iter()
            .map(|ci| {
                (
                    ci["hostname"].as_str().unwrap_or_default().to_string(),
                    ci["_depth"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        out.sort();
        out
    };

    let one = a.ci_graph(id["a"], 1).await.expect("one hop");
    assert_eq!(names(&one), vec![("a".into(), 0), ("b".into(), 1)]);
    assert_eq!(one.relations.len(), 1);
    assert_eq!(one.relations[0].cr_id, cr[&("a", "b")]);
    assert_eq!(
        (one.relations[0].first_ci_id, one.relations[0].second_ci_id),
        (id["a"], id["b"])
    );
    assert!(!one.truncated);

    let two = a.ci_graph(id["a"], 2).await.expect("two hops");
    assert_eq!(
        names(&two),
        vec![
            ("a".into(), 0),
            ("b".into(), 1),
            ("c".into(), 2),
            ("e".into(), 2)
        ]
    );
    assert_eq!(two.numfound, 4);
    let mut rels: Vec<i64> = two.relations.iter().map(|r| r.cr_id).collect();
    rels.sort();
    let mut expected = vec![cr[&("a", "b")], cr[&("b", "c")], cr[&("e", "b")]];
    expected.sort();
    assert_eq!(rels, expected, "c -> d leaves the graph with d");

    let all = a.ci_graph(id["a"], 5).await.expect("five hops");
    assert_eq!(all.numfound, 5);
    assert_eq!(all.relations.len(), 4);

    for depth in [0, 6] {
        assert_refused(a.ci_graph(id["a"], depth).await, 400, &["depth"]);
    }
    assert_eq!(refused(a.ci_graph(99_999, 1).await).0, 404);
}
