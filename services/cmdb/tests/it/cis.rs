//! CIs: add, update, get, list by type, delete, and the history they leave.

use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_refused, attr_id, refused, TestApp};

kit::on_both_backends!(
    a_ci_is_added_read_and_listed_with_typed_values,
    ci_input_is_checked_by_name,
    a_ci_is_updated_by_its_unique_value_or_id,
    unique_values_stay_unique,
    list_by_type_pages_by_25_with_fields_and_ret_key,
    a_deleted_ci_is_gone_and_its_history_kept,
    history_lists_and_details_every_change,
    a_batch_adds_and_updates_with_a_result_per_row,
    a_batch_answers_each_row_as_a_write_of_it_alone_would,
);

async fn a_ci_is_added_read_and_listed_with_typed_values(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let type_id = app.server_model().await;
    // By name, by alias (IP) and by id; a multi-valued attribute as a JSON list.
    let cpu_id = attr_id(&app.admin, "cpu_core_num").await;
    let mut fields = json!({
        "主机名": "web-01", "IP": "10.0.0.1", "idc": "IDC-A",
        "ram": 15.5, "online": "2024-03-01",
        "nic": ["eth0", "eth1"], "not_an_attribute": "ignored"
    });
    fields[cpu_id.to_string()] = json!("8");
    let ci_id = app.add_server(fields).await;
    let got = app.admin.ci(ci_id).await.expect("read");
    assert_eq!(got.ci_id, ci_id);
    let ci = &got.ci;
    assert_eq!(ci["_id"], json!(ci_id));
    assert_eq!(ci["_type"], json!(type_id));
    assert_eq!(ci["ci_type"], json!("server"));
    assert_eq!(ci["_unique"], json!("web-01"));
    assert_eq!(ci["hostname"], json!("web-01"));
    assert_eq!(ci["private_ip"], json!("10.0.0.1"));
    assert_eq!(ci["cpu_core_num"], json!(8));
    assert_eq!(ci["ram"], json!(15.5));
    assert_eq!(ci["online"], json!("2024-03-01 00:00:00"));
    assert_eq!(ci["nic"], json!(["eth0", "eth1"]));
    // Attributes of the type without a value are present, empty.
    assert_eq!(ci["status"], json!(null));
    assert!(ci.get("not_an_attribute").is_none());

    let page = app
        .admin
        .cis_of_type(type_id, json!({}))
        .await
        .expect("listed");
    assert_eq!((page.numfound, page.type_id, page.page), (1, type_id, 1));
    assert_eq!(page.cis[0]["hostname"], json!("web-01"));
    assert_eq!(refused(app.admin.ci(ci_id + 100).await).0, 404);

    // Dates past 2038 (where MySQL's TIMESTAMP ends) are stored and compared correctly.
    let late = app
        .add_server(json!({"hostname": "web-02", "online": "2040-06-01 08:30:00"}))
        .await;
    let found = app
        .admin
        .search(json!({"q": "online:>2039-12-31"}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 1);
    assert_eq!(found.result[0]["_id"], json!(late));
    assert_eq!(found.result[0]["online"], json!("2040-06-01 08:30:00"));
}

async fn ci_input_is_checked_by_name(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    // Every case is refused with a 400 naming what is wrong.
    let cases = [
        (json!({"private_ip": "10.0.0.1"}), "ci_type"),
        (json!({"ci_type": "nope", "hostname": "x"}), "nope"),
        (json!({"ci_type": "server", "private_ip": "1"}), "hostname"),
        (
            json!({"ci_type": "server", "hostname": "x", "cpu_core_num": "eight"}),
            "cpu_core_num",
        ),
        (
            json!({"ci_type": "server", "hostname": "x", "ram": "lots"}),
            "ram",
        ),
        (
            json!({"ci_type": "server", "hostname": "x", "online": "soon"}),
            "online",
        ),
        (
            json!({"ci_type": "server", "hostname": "x", "idc": "IDC-Z"}),
            "IDC-Z",
        ),
        (
            json!({"ci_type": "server", "hostname": "x", "private_ip": ["a", "b"]}),
            "private_ip",
        ),
        (
            json!({"ci_type": "server", "hostname": "x", "colour": "red", "_no_attribute_policy": "reject"}),
            "colour",
        ),
        (
            json!({"ci_type": "server", "hostname": "x", "_no_attribute_policy": "maybe"}),
            "_no_attribute_policy",
        ),
    ];
    for (params, named) in cases {
        let (got, message) = refused(a.add_ci(params.clone()).await);
        assert_eq!(got, 400, "{params}: {message}");
        assert!(message.contains(named), "{params}: {message}");
    }
    // Nothing was half-written.
    let found = a
        .search(json!({"q": "_type:server"}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 0);

    // A required attribute must be given.
    let type_id = a.query_citype("server").await.expect("t").citype.type_id;
    let status_id = attr_id(a, "status").await;
    a.bind_attributes(type_id, &[status_id], true)
        .await
        .expect("required");
    let (got, message) = refused(
        a.add_ci(json!({"ci_type": "server", "hostname": "x"}))
            .await,
    );
    assert_eq!(got, 400);
    assert!(message.contains("status"), "{message}");

    // A disabled type takes no CIs.
    a.enable_citype(type_id, false).await.expect("disabled");
    let (got, message) = refused(
        a.add_ci(json!({"ci_type": "server", "hostname": "x", "status": "ok"}))
            .await,
    );
    assert_eq!(got, 400);
    assert!(message.contains("disabled"), "{message}");
}

async fn a_ci_is_updated_by_its_unique_value_or_id(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    let id = app
        .add_server(json!({"hostname": "db-1", "cpu_core_num": 4, "nic": "eth0,eth1"}))
        .await;
    assert_eq!(
        a.ci(id).await.expect("ci").ci["nic"],
        json!(["eth0", "eth1"])
    );
    let updated = a
        .update_ci(json!({"ci_type": "server", "hostname": "db-1", "cpu_core_num": 16, "status": "online"}))
        .await
        .expect("updated by unique");
    assert_eq!(updated.ci_id, id);
    let ci = a.ci(id).await.expect("ci").ci;
    assert_eq!(
        (ci["cpu_core_num"].clone(), ci["status"].clone()),
        (json!(16), json!("online"))
    );
    // By id, renaming the unique value; an empty value clears an attribute.
    a.update_ci(json!({"ci_type": "server", "ci_id": id, "hostname": "db-2", "status": ""}))
        .await
        .expect("updated by id");
    let ci = a.ci(id).await.expect("ci").ci;
    assert_eq!(
        (ci["hostname"].clone(), ci["status"].clone()),
        (json!("db-2"), json!(null))
    );
    // The old unique value is free again.
    app.add_server(json!({"hostname": "db-1"})).await;

    assert_refused(
        a.update_ci(json!({"ci_type": "server", "hostname": "ghost", "status": "x"}))
            .await,
        404,
        &["ghost"],
    );
    assert_refused(
        a.update_ci(json!({"ci_type": "server", "status": "x"}))
            .await,
        400,
        &["hostname"],
    );
    let (status, _) = refused(
        a.update_ci(json!({"ci_type": "server", "ci_id": id, "hostname": ""}))
            .await,
    );
    assert_eq!(status, 400);
}

async fn unique_values_stay_unique(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    a.update_attribute(attr_id(a, "private_ip").await, json!({"is_uniq": 1}))
        .await
        .expect("ip unique (no values yet)");
    app.add_server(json!({"hostname": "a", "private_ip": "10.0.0.1"}))
        .await;
    // A 400 (the seed's "add failed" was a 500) naming the attribute and the value.
    assert_refused(
        a.add_ci(json!({"ci_type": "server", "hostname": "a"}))
            .await,
        400,
        &["hostname", "`a` already exists"],
    );
    assert_refused(
        a.add_ci(json!({"ci_type": "server", "hostname": "b", "private_ip": "10.0.0.1"}))
            .await,
        400,
        &["private_ip", "10.0.0.1"],
    );
    // The refused CI left nothing behind: b can be added with another address.
    app.add_server(json!({"hostname": "b", "private_ip": "10.0.0.2"}))
        .await;
    let found = a.search(json!({"q": "hostname:b"})).await.expect("search");
    assert_eq!(found.numfound, 1);
    // An attribute with values cannot change shape.
    assert_refused(
        a.update_attribute(attr_id(a, "private_ip").await, json!({"value_type": "int"}))
            .await,
        400,
        &["private_ip"],
    );
}

async fn list_by_type_pages_by_25_with_fields_and_ret_key(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let type_id = app.server_model().await;
    for i in 0..30 {
        app.add_server(json!({"hostname": format!("h{i:02}"), "cpu_core_num": i}))
            .await;
    }
    let a = &app.admin;
    let first = a.cis_of_type(type_id, json!({})).await.expect("page 1");
    assert_eq!((first.numfound, first.cis.len()), (30, 25));
    let second = a
        .cis_of_type(type_id, json!({"page": 2}))
        .await
        .expect("page 2");
    assert_eq!((second.page, second.cis.len()), (2, 5));
    assert_eq!(second.cis[0]["hostname"], json!("h25"));

    let cpu_id = attr_id(a, "cpu_core_num").await;
    let by_id = a
        .cis_of_type(
            type_id,
            json!({"fields": "hostname,cpu_core_num", "ret_key": "id"}),
        )
        .await
        .expect("ret_key id");
    let ci = &by_id.cis[1];
    assert_eq!(ci[&cpu_id.to_string()], json!(1));
    assert!(ci.get("cpu_core_num").is_none());
    assert!(ci.get("ram").is_none(), "only the asked fields");
    let by_alias = a
        .cis_of_type(type_id, json!({"fields": "hostname", "ret_key": "alias"}))
        .await
        .expect("ret_key alias");
    assert_eq!(by_alias.cis[0]["主机名"], json!("h00"));
    assert_refused(
        a.cis_of_type(type_id, json!({"fields": "ghost"})).await,
        400,
        &["ghost"],
    );
    assert_refused(
        a.cis_of_type(type_id, json!({"ret_key": "uuid"})).await,
        400,
        &["ret_key"],
    );
    assert_eq!(refused(a.cis_of_type(9999, json!({})).await).0, 404);
}

async fn a_deleted_ci_is_gone_and_its_history_kept(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    let id = app
        .add_server(json!({"hostname": "gone", "status": "x"}))
        .await;
    assert_eq!(a.delete_ci(id).await.expect("deleted").message, "ok");
    assert_eq!(refused(a.ci(id).await).0, 404);
    assert_eq!(refused(a.delete_ci(id).await).0, 404);
    // Its unique value is free again.
    app.add_server(json!({"hostname": "gone"})).await;
    let records = a.history(json!({})).await.expect("history").records;
    let deletion = a
        .history_record(records[1].record_id)
        .await
        .expect("detail");
    let changes = &deletion.attr_history[&id.to_string()];
    assert!(changes.iter().any(|c| c.attr_name == "hostname"
        && c.operate_type == "delete"
        && c.old.as_deref() == Some("gone")));
}

async fn history_lists_and_details_every_change(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    let id = app
        .add_server(json!({"hostname": "h1", "status": "new", "nic": ["eth0"]}))
        .await;
    a.update_ci(json!({"ci_type": "server", "hostname": "h1", "status": "live", "nic": ["eth0", "eth1"], "cpu_core_num": 2}))
        .await
        .expect("updated");
    // An update that changes nothing leaves no record.
    a.update_ci(json!({"ci_type": "server", "hostname": "h1", "status": "live"}))
        .await
        .expect("no-op update");

    let list = a
        .history(json!({"username": "admin"}))
        .await
        .expect("history");
    assert_eq!(list.numfound, 2);
    assert_eq!(list.username, "admin");
    let newest = &list.records[0];
    assert_eq!(newest.username, "admin");
    assert!(newest.user > 0);
    let mut names = newest.attr_history.clone();
    names.sort();
    assert_eq!(names, vec!["cpu_core_num", "nic", "status"]);

    let detail = a.history_record(newest.record_id).await.expect("detail");
    assert_eq!(detail.username, "admin");
    let changes = &detail.attr_history[&id.to_string()];
    let status = changes
        .iter()
        .find(|c| c.attr_name == "status")
        .expect("status change");
    assert_eq!(status.operate_type, "update");
    assert_eq!(
        (status.old.as_deref(), status.new.as_deref()),
        (Some("new"), Some("live"))
    );
    let nic = changes
        .iter()
        .find(|c| c.attr_name == "nic")
        .expect("nic change");
    assert_eq!(nic.old.as_deref(), Some(r#"["eth0"]"#));
    assert_eq!(nic.new.as_deref(), Some(r#"["eth0","eth1"]"#));
    let cpu = changes
        .iter()
        .find(|c| c.attr_name == "cpu_core_num")
        .expect("cpu change");
    assert_eq!(
        (
            cpu.operate_type.as_str(),
            cpu.old.as_deref(),
            cpu.new.as_deref()
        ),
        ("add", None, Some("2"))
    );
    assert_eq!(detail.rel_history["add"], vec![]);

    // Filters: another user, a window that ended long ago, bad dates, paging.
    assert_eq!(
        a.history(json!({"username": "bob"}))
            .await
            .expect("h")
            .numfound,
        0
    );
    assert_eq!(
        a.history(json!({"end": "2000-01-01"}))
            .await
            .expect("h")
            .numfound,
        0
    );
    assert_eq!(
        a.history(json!({"start": "2000-01-01", "end": "2999-12-31 00:00:00"}))
            .await
            .expect("h")
            .numfound,
        2
    );
    let (code, message) = refused(a.history(json!({"start": "last week"})).await);
    assert_eq!(code, 400);
    assert!(message.contains("start"), "{message}");
    let paged = a
        .history(json!({"page": 2, "page_size": 1}))
        .await
        .expect("paged");
    assert_eq!((paged.page, paged.records.len()), (2, 1));
    assert_eq!(refused(a.history_record(999_999).await).0, 404);
}

/// Rows: a new CI, an update of an existing one by its unique value, one by id, a refused row
/// (bad int), a duplicate of the first row (now an update), and one of an unknown type.
async fn a_batch_adds_and_updates_with_a_result_per_row(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    let old = app
        .add_server(json!({"hostname": "old", "cpu_core_num": 2}))
        .await;
    let by_id = app.add_server(json!({"hostname": "by-id"})).await;
    let done = a
        .batch_cis(json!({
            "ci_type": "server",
            "cis": [
                {"hostname": "new", "cpu_core_num": 4, "nic": ["eth0", "eth1"]},
                {"hostname": "old", "cpu_core_num": 8},
                {"_id": by_id, "idc": "IDC-A"},
                {"hostname": "bad", "cpu_core_num": "many"},
                {"hostname": "new", "cpu_core_num": 16},
                {"ci_type": "router", "hostname": "r1"},
            ],
        }))
        .await
        .expect("batch");
    let actions: Vec<(&str, u16)> = done
        .results
        .iter()
        .map(|r| (r.action.as_str(), r.status))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("add", 200),
            ("update", 200),
            ("update", 200),
            ("error", 400),
            ("update", 200),
            ("error", 400)
        ]
    );
    assert_eq!((done.added, done.updated, done.failed), (1, 3, 2));
    let indexes: Vec<i64> = done.results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(done.results[1].ci_id, Some(old));
    assert_eq!(done.results[2].ci_id, Some(by_id));
    assert_eq!(done.results[0].ci_id, done.results[4].ci_id);
    let bad = done.results[3].message.clone().unwrap_or_default();
    assert!(bad.contains("cpu_core_num"), "{bad}");
    let router = done.results[5].message.clone().unwrap_or_default();
    assert!(router.contains("router"), "{router}");

    // What was written is there; the refused row left nothing behind.
    let new_id = done.results[0].ci_id.unwrap_or_default();
    let new = a.ci(new_id).await.expect("new").ci;
    assert_eq!(new["cpu_core_num"], json!(16));
    assert_eq!(new["nic"], json!(["eth0", "eth1"]));
    assert_eq!(a.ci(old).await.expect("old").ci["cpu_core_num"], json!(8));
    assert_eq!(a.ci(by_id).await.expect("by id").ci["idc"], json!("IDC-A"));
    let bad = a.search(json!({"q": "hostname:bad"})).await.expect("s");
    assert_eq!(bad.numfound, 0);

    // The batch as a whole is refused when it has no rows or an unknown field.
    assert_eq!(refused(a.batch_cis(json!({"cis": []})).await).0, 400);
    assert_refused(
        a.batch_cis(json!({"cis": [{}], "colour": 1})).await,
        400,
        &["colour"],
    );
    // Writing needs a signature.
    assert_eq!(
        refused(
            app.anonymous
                .batch_cis(json!({"cis": [{"hostname": "x"}]}))
                .await
        )
        .0,
        401
    );
}

/// Rows that add CIs are written in bulk; each row's answer and what it leaves (values,
/// uniqueness, history, search) are those of writing the rows one at a time, in order.
async fn a_batch_answers_each_row_as_a_write_of_it_alone_would(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    let old = app.add_server(json!({"hostname": "old"})).await;
    let done = a
        .batch_cis(json!({
            "ci_type": "server",
            "cis": [
                {"hostname": "b-1", "cpu_core_num": 4, "nic": ["eth0", "eth1"]},
                {"hostname": "b-2", "ram": 2.5, "online": "2024-03-01"},
                // An update by id takes a name that a later row then gives: that row
                // updates the renamed CI (its bulk run is undone and written row by row).
                {"_id": old, "hostname": "renamed"},
                {"hostname": "renamed", "cpu_core_num": 8},
                // A value ahead in the same batch: an update of the CI just added.
                {"hostname": "b-1", "idc": "IDC-B"},
                {"hostname": "b-3", "idc": "nowhere"},
                {"hostname": "b-4"},
                {"cpu_core_num": 1},
            ],
        }))
        .await
        .expect("batch");
    let rows: Vec<(&str, u16)> = done
        .results
        .iter()
        .map(|r| (r.action.as_str(), r.status))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("add", 200),
            ("add", 200),
            ("update", 200),
            ("update", 200),
            ("update", 200),
            ("error", 400),
            ("add", 200),
            ("error", 400),
        ]
    );
    assert_eq!((done.added, done.updated, done.failed), (3, 3, 2));
    let id = |i: usize| done.results[i].ci_id.expect("a CI id");
    assert_eq!((id(2), id(3)), (old, old));
    assert_eq!(id(4), id(0));
    let choice = done.results[5].message.clone().unwrap_or_default();
    assert!(choice.contains("nowhere"), "{choice}");
    let missing = done.results[7].message.clone().unwrap_or_default();
    assert!(missing.contains("hostname"), "{missing}");

    let b1 = a.ci(id(0)).await.expect("b-1").ci;
    assert_eq!(
        (&b1["cpu_core_num"], &b1["nic"], &b1["idc"]),
        (&json!(4), &json!(["eth0", "eth1"]), &json!("IDC-B"))
    );
    let b2 = a.ci(id(1)).await.expect("b-2").ci;
    assert_eq!(
        (&b2["ram"], &b2["online"]),
        (&json!(2.5), &json!("2024-03-01 00:00:00"))
    );
    assert_eq!(a.ci(old).await.expect("old").ci["cpu_core_num"], json!(8));
    // The unique values are claimed: a one-row add of one is refused.
    assert_eq!(
        refused(
            a.add_ci(json!({"ci_type": "server", "hostname": "b-4"}))
                .await
        )
        .0,
        400
    );
    let found = a
        .search(json!({"q": "hostname:b-*"}))
        .await
        .expect("search");
    assert_eq!(found.numfound, 3);

    // One history record per CI added, with an `add` of each value it was given.
    let records = a.history(json!({})).await.expect("history").records;
    let mut of_b1 = Vec::new();
    let mut holding_b2 = 0;
    for r in &records {
        let detail = a.history_record(r.record_id).await.expect("record");
        if let Some(changes) = detail.attr_history.get(&id(1).to_string()) {
            holding_b2 += 1;
            let mut added: Vec<(&str, &str, Option<&str>)> = changes
                .iter()
                .map(|c| {
                    (
                        c.attr_name.as_str(),
                        c.operate_type.as_str(),
                        c.new.as_deref(),
                    )
                })
                .collect();
            added.sort();
            assert_eq!(
                added,
                vec![
                    ("hostname", "add", Some("b-2")),
                    ("online", "add", Some("2024-03-01 00:00:00")),
                    ("ram", "add", Some("2.5")),
                ]
            );
        }
        if let Some(changes) = detail.attr_history.get(&id(0).to_string()) {
            of_b1.extend(
                changes
                    .iter()
                    .map(|c| (c.attr_name.clone(), c.operate_type.clone(), c.new.clone())),
            );
        }
    }
    assert_eq!(holding_b2, 1);
    of_b1.sort();
    assert_eq!(
        of_b1,
        vec![
            ("cpu_core_num".into(), "add".into(), Some("4".into())),
            ("hostname".into(), "add".into(), Some("b-1".into())),
            ("idc".into(), "add".into(), Some("IDC-B".into())),
            (
                "nic".into(),
                "add".into(),
                Some(r#"["eth0","eth1"]"#.into())
            ),
        ]
    );
}
