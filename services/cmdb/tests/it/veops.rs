//! What clients written for veops CMDB (the seed's living successor) send: JSON bodies signed
//! the way its Python client's `build_api_key` signs them, `exist_policy` and
//! `no_attribute_policy` on `POST /ci`, `PUT /ci/<ci_id>`, the `/ci_relations` routes, the
//! `/ci_types` routes, and the search language's `-~` and parentheses.

use client::Method;
use kit::testing::TestBackend;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use crate::support::{attr_id, TestApp, ADMIN_KEY, ADMIN_SECRET};

kit::on_both_backends!(
    json_bodies_signed_as_veops_python_client_signs_them_pass,
    exist_policy_and_no_attribute_policy_work_as_veops_documents,
    a_ci_is_updated_by_its_id_in_the_path,
    relation_search_walks_levels_under_a_root,
    relation_search_sees_relations_written_by_another_process,
    ci_types_answer_under_veops_names,
    or_not_and_parentheses_search_as_veops_documents,
);

/// Sends `body` (JSON text, numbers as written) to `path` with `_key` and the `_secret` of
/// `signed` (the text veops' client hashes after path and secret); status and answer.
async fn send_veops(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: &str,
    signed: &str,
) -> (u16, Value) {
    let full = format!("/api/v0.1{path}");
    let mut hasher = Sha1::new();
    hasher.update(format!("{full}{ADMIN_SECRET}{signed}").as_bytes());
    let secret = hex::encode(hasher.finalize());
    let body = format!(
        r#"{{{body}{}"_key": "{ADMIN_KEY}", "_secret": "{secret}"}}"#,
        if body.is_empty() { "" } else { ", " }
    );
    let reply = reqwest::Client::new()
        .request(method, format!("{}{full}", app.server.url))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.expect("a JSON answer"))
}

/// A call through the DCP client (DCP's signature form): status and answer.
async fn call(app: &TestApp, method: Method, path: &str, params: Value) -> (u16, Value) {
    let reply = app
        .admin
        .call_raw(method, path, &params)
        .await
        .expect("answers");
    (reply.status.as_u16(), reply.body)
}

async fn add_text_attribute(app: &TestApp, name: &str, type_id: i64) {
    let id = app
        .admin
        .add_attribute(json!({ "attr_name": name }))
        .await
        .expect("attribute")
        .attr_id;
    app.admin
        .bind_attributes(type_id, &[id], false)
        .await
        .expect("bound");
}

async fn json_bodies_signed_as_veops_python_client_signs_them_pass(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let server = app.server_model().await;
    add_text_attribute(&app, "serial", server).await;
    // Python: str(value) of each, by name, lists and dicts left out:
    // ci_type cpu_core_num extra(dict) hostname nic(list) ram serial status vip.
    let body = r#""ci_type": "server", "cpu_core_num": 8, "extra": {"k": [1]},
        "hostname": "veops-01", "nic": ["eth0", "eth1"], "ram": 1e-07,
        "serial": 1180591620717411303424, "status": null, "vip": true"#;
    let signed = "server8veops-011e-071180591620717411303424NoneTrue";
    let (status, added) = send_veops(&app, reqwest::Method::POST, "/ci", body, signed).await;
    assert_eq!(status, 200, "{added}");
    let id = added["ci_id"].as_i64().expect("a CI id");
    let ci = app.admin.ci(id).await.expect("the CI").ci;
    assert_eq!(ci["hostname"], json!("veops-01"));
    assert_eq!(ci["nic"], json!(["eth0", "eth1"]));
    assert_eq!(ci["ram"], json!(1e-7));
    // An integer beyond 64 bits keeps every digit in a text attribute.
    assert_eq!(ci["serial"], json!("1180591620717411303424"));
    assert_eq!(ci["status"], Value::Null);

    // The same request with a value changed after signing is refused.
    let tampered = body.replace("veops-01", "veops-02");
    let (status, answer) = send_veops(&app, reqwest::Method::POST, "/ci", &tampered, signed).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("_secret")));
    // A float written another way is read, then signed as Python writes it.
    let body = r#""ci_type": "server", "hostname": "veops-03", "ram": 2.50E+1"#;
    let (status, answer) = send_veops(
        &app,
        reqwest::Method::POST,
        "/ci",
        body,
        "serverveops-0325.0",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // Signed right, a dict where a value goes is the caller's mistake: 400, not 401 or 500.
    let body = r#""ci_type": "server", "hostname": "veops-04", "status": {"a": 1}"#;
    let (status, answer) =
        send_veops(&app, reqwest::Method::POST, "/ci", body, "serverveops-04").await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("status")));
    // An integer beyond 64 bits where an int goes is a 400 too.
    let body =
        r#""ci_type": "server", "hostname": "veops-05", "cpu_core_num": 1180591620717411303424"#;
    let signed = "server1180591620717411303424veops-05";
    let (status, answer) = send_veops(&app, reqwest::Method::POST, "/ci", body, signed).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("cpu_core_num")));
    // DCP's own form (lists as compact JSON, booleans lower-case) is still accepted.
    let (status, answer) = call(
        &app,
        Method::POST,
        "/ci",
        json!({"ci_type": "server", "hostname": "dcp-01", "nic": ["eth9"], "vip": true}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

async fn exist_policy_and_no_attribute_policy_work_as_veops_documents(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let first = app
        .add_server(json!({"hostname": "p-01", "cpu_core_num": 2}))
        .await;
    let post = |params: Value| call(&app, Method::POST, "/ci", params);

    // reject (the default): an existing CI is a 400.
    let (status, answer) = post(json!({"ci_type": "server", "hostname": "p-01"})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) =
        post(json!({"ci_type": "server", "hostname": "p-01", "exist_policy": "reject"})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("already exists")));
    // need: the existing CI is updated; a missing one is a 404 and nothing is added.
    let (status, answer) = post(
        json!({"ci_type": "server", "hostname": "p-01", "cpu_core_num": 4, "exist_policy": "need"}),
    )
    .await;
    assert_eq!((status, answer["ci_id"].as_i64()), (200, Some(first)));
    assert_eq!(
        app.admin.ci(first).await.expect("ci").ci["cpu_core_num"],
        json!(4)
    );
    let (status, answer) =
        post(json!({"ci_type": "server", "hostname": "p-02", "exist_policy": "need"})).await;
    assert_eq!(status, 404, "{answer}");
    // replace: update the existing CI, else add one.
    let (status, answer) = post(
        json!({"ci_type": "server", "hostname": "p-01", "cpu_core_num": 8, "exist_policy": "replace"}),
    )
    .await;
    assert_eq!((status, answer["ci_id"].as_i64()), (200, Some(first)));
    assert_eq!(
        app.admin.ci(first).await.expect("ci").ci["cpu_core_num"],
        json!(8)
    );
    let (status, answer) =
        post(json!({"ci_type": "server", "hostname": "p-02", "exist_policy": "replace"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_ne!(answer["ci_id"].as_i64(), Some(first));
    let (status, answer) =
        post(json!({"ci_type": "server", "hostname": "p-03", "exist_policy": "maybe"})).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("exist_policy")));

    // no_attribute_policy (veops' name) as _no_attribute_policy (the seed's).
    let (status, answer) = post(
        json!({"ci_type": "server", "hostname": "p-04", "colour": "red",
                                       "no_attribute_policy": "reject"}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("colour")));
    assert_eq!(
        app.admin
            .search(json!({"q": "hostname:p-04"}))
            .await
            .expect("s")
            .numfound,
        0
    );
    let (status, answer) = post(
        json!({"ci_type": "server", "hostname": "p-04", "colour": "red",
                                       "no_attribute_policy": "ignore"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post(json!({"ci_type": "server", "hostname": "p-05",
                                       "no_attribute_policy": "reject",
                                       "_no_attribute_policy": "ignore"}))
    .await;
    assert_eq!(status, 400, "{answer}");
    // On PUT /ci as well.
    let (status, answer) = call(
        &app,
        Method::PUT,
        "/ci",
        json!({"ci_type": "server", "hostname": "p-04", "colour": "blue", "no_attribute_policy": "reject"}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
}

async fn a_ci_is_updated_by_its_id_in_the_path(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let id = app
        .add_server(json!({"hostname": "byid-01", "cpu_core_num": 2}))
        .await;
    // No ci_type: the CI's own; the unique value may change.
    let (status, answer) = call(
        &app,
        Method::PUT,
        &format!("/ci/{id}"),
        json!({"cpu_core_num": 6, "hostname": "byid-renamed"}),
    )
    .await;
    assert_eq!(
        (status, answer["ci_id"].as_i64()),
        (200, Some(id)),
        "{answer}"
    );
    let ci = app.admin.ci(id).await.expect("ci").ci;
    assert_eq!(
        (ci["cpu_core_num"].clone(), ci["hostname"].clone()),
        (json!(6), json!("byid-renamed"))
    );
    // With its type, the same.
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/ci/{id}"),
        json!({"ci_type": "server", "cpu_core_num": 7}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.admin.ci(id).await.expect("ci").ci["cpu_core_num"],
        json!(7)
    );
    // Another type, a missing CI, a second id that disagrees, a bad id.
    let sn = app.add_sn().await;
    app.admin
        .add_citype(json!({"type_name": "rack", "_id": sn}))
        .await
        .expect("rack");
    for (path, params, want) in [
        (
            format!("/ci/{id}"),
            json!({"ci_type": "rack", "cpu_core_num": 1}),
            404,
        ),
        ("/ci/999999".to_string(), json!({"cpu_core_num": 1}), 404),
        (
            format!("/ci/{id}"),
            json!({"ci_id": id + 1, "cpu_core_num": 1}),
            400,
        ),
        ("/ci/abc".to_string(), json!({"cpu_core_num": 1}), 400),
    ] {
        let (status, answer) = call(&app, Method::PUT, &path, params).await;
        assert_eq!(status, want, "{path}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    assert_eq!(
        app.admin.ci(id).await.expect("ci").ci["cpu_core_num"],
        json!(7)
    );
}

async fn relation_search_walks_levels_under_a_root(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let sn = app.add_sn().await;
    for name in ["dept", "app"] {
        app.admin
            .add_citype(json!({"type_name": name, "_id": sn}))
            .await
            .expect("type");
    }
    let add = |ci_type: &str, sn: &str| {
        let params = json!({"ci_type": ci_type, "sn": sn});
        let admin = app.admin.clone();
        async move { admin.add_ci(params).await.expect("added").ci_id }
    };
    let dept = add("dept", "d-1").await;
    let apps = [add("app", "a-1").await, add("app", "a-2").await];
    let mut servers = Vec::new();
    for (i, host) in ["s-11", "s-12", "s-21", "s-22"].iter().enumerate() {
        let idc = if i % 2 == 0 { "IDC-A" } else { "IDC-B" };
        servers.push(app.add_server(json!({"hostname": host, "idc": idc})).await);
    }
    let lonely = app.add_server(json!({"hostname": "s-99"})).await;
    let relate = |first: i64, second: i64| {
        let path = format!("/ci_relations/{first}/{second}");
        let admin = app.admin.clone();
        async move {
            let reply = admin
                .call_raw(Method::POST, &path, &json!({}))
                .await
                .expect("answers");
            (reply.status.as_u16(), reply.body)
        }
    };
    let mut crs = Vec::new();
    for (first, second) in [
        (dept, apps[0]),
        (dept, apps[1]),
        (apps[0], servers[0]),
        (apps[0], servers[1]),
        (apps[1], servers[2]),
        (apps[1], servers[3]),
    ] {
        let (status, answer) = relate(first, second).await;
        assert_eq!(status, 200, "{answer}");
        crs.push(answer["cr_id"].as_i64().expect("cr_id"));
    }
    // Adding it again answers the same relation, as veops does.
    let (status, again) = relate(dept, apps[0]).await;
    assert_eq!(
        (status, again["cr_id"].as_i64()),
        (200, crs.first().copied())
    );

    let search = |params: Value| call(&app, Method::GET, "/ci_relations/s", params);
    let ids = |answer: &Value| -> Vec<i64> {
        let mut ids: Vec<i64> = answer["result"]
            .as_array()
            .map(|r| r.iter().filter_map(|c| c["_id"].as_i64()).collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    };
    let (status, level1) = search(json!({"root_id": dept})).await;
    assert_eq!(status, 200, "{level1}");
    assert_eq!(ids(&level1), apps.to_vec());
    assert_eq!(level1["counter"], json!({"app": 2}));
    let (_, level2) = search(json!({"root_id": dept, "level": 2})).await;
    assert_eq!(ids(&level2), servers.clone());
    assert_eq!(level2["numfound"], json!(4));
    let (_, both) = search(json!({"root_id": dept, "level": "1,2"})).await;
    let mut want = apps.to_vec();
    want.extend(&servers);
    assert_eq!(ids(&both), want);
    assert_eq!(both["counter"], json!({"app": 2, "server": 4}));
    // The search parameters of /ci/s apply to what the walk reached, never beyond it.
    let (_, filtered) = search(json!({"root_id": dept, "level": "1,2",
                                      "q": "_type:server,idc:IDC-A", "facet": "idc",
                                      "fl": "hostname", "sort": "-hostname", "count": 1}))
    .await;
    assert_eq!(filtered["numfound"], json!(2), "{filtered}");
    assert_eq!(filtered["result"][0]["hostname"], json!("s-21"));
    assert_eq!(filtered["facet"]["idc"], json!([["IDC-A", 2, "idc"]]));
    let (_, none) = search(json!({"root_id": dept, "level": 2, "q": "hostname:s-99"})).await;
    assert_eq!(none["numfound"], json!(0));
    assert_ne!(lonely, 0);
    // Reverse: up from a server.
    let (_, up1) = search(json!({"root_id": servers[2], "reverse": 1})).await;
    assert_eq!(ids(&up1), vec![apps[1]]);
    let (_, up2) = search(json!({"root_id": servers[2], "reverse": "1", "level": 2})).await;
    assert_eq!(ids(&up2), vec![dept]);
    // Deleting a relation takes its subtree out of the walk.
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/ci_relations/{}", crs[1]),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, after) = search(json!({"root_id": dept, "level": 2})).await;
    assert_eq!(ids(&after), servers[..2].to_vec());
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/ci_relations/{}", crs[1]),
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
    // The caller's mistakes are 4xx in the envelope.
    for (params, want) in [
        (json!({}), 400),
        (json!({"root_id": 999_999}), 404),
        (json!({"root_id": dept, "level": "x"}), 400),
        (json!({"root_id": dept, "level": 0}), 400),
        (json!({"root_id": dept, "level": 500}), 400),
        (json!({"root_id": dept, "q": "colour:red"}), 400),
        (json!({"root_id": dept, "ancestor_ids": "1"}), 400),
    ] {
        let (status, answer) = search(params.clone()).await;
        assert_eq!(status, want, "{params}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
}

async fn ci_types_answer_under_veops_names(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let hostname = attr_id(&app.admin, "hostname").await;
    let (status, added) = call(
        &app,
        Method::POST,
        "/ci_types",
        json!({"name": "vm", "alias": "VirtualMachine", "unique_key": "hostname"}),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    let vm = added["type_id"].as_i64().expect("type_id");
    let (status, listed) = call(&app, Method::GET, "/ci_types", json!({})).await;
    assert_eq!(status, 200);
    let mine = listed["ci_types"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["id"] == json!(vm)))
        .cloned()
        .expect("the new type is listed");
    assert_eq!(mine["name"], json!("vm"));
    assert_eq!(mine["alias"], json!("VirtualMachine"));
    assert_eq!(mine["unique_id"], json!(hostname));
    assert_eq!(mine["unique_key"], json!("hostname"));
    let (_, by_id) = call(&app, Method::GET, &format!("/ci_types/{vm}"), json!({})).await;
    assert_eq!(
        (
            by_id["numfound"].clone(),
            by_id["ci_types"][0]["name"].clone()
        ),
        (json!(1), json!("vm"))
    );
    let (_, by_name) = call(&app, Method::GET, "/ci_types/vm", json!({})).await;
    assert_eq!(by_name["ci_types"][0]["id"], json!(vm));
    let (status, missing) = call(&app, Method::GET, "/ci_types/nosuch", json!({})).await;
    assert_eq!((status, missing["numfound"].clone()), (200, json!(0)));
    let (status, _) = call(&app, Method::GET, "/ci_types/999999", json!({})).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        Method::PUT,
        &format!("/ci_types/{vm}"),
        json!({"alias": "VM"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.admin
            .query_citype("vm")
            .await
            .expect("vm")
            .citype
            .type_alias,
        "VM"
    );
    let (status, answer) = call(&app, Method::POST, "/ci_types", json!({"alias": "x"})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = call(
        &app,
        Method::POST,
        "/ci_types",
        json!({"name": "vm", "unique_key": hostname}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("already exists")));
    let (status, answer) = call(&app, Method::DELETE, &format!("/ci_types/{vm}"), json!({})).await;
    assert_eq!((status, answer["type_id"].as_i64()), (200, Some(vm)));
    let (status, _) = call(&app, Method::GET, &format!("/ci_types/{vm}"), json!({})).await;
    assert_eq!(status, 404);
}

async fn or_not_and_parentheses_search_as_veops_documents(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    for (host, idc, cpu) in [
        ("g-1", "IDC-A", 2),
        ("g-2", "IDC-A", 8),
        ("g-3", "IDC-B", 8),
        ("g-4", "IDC-C", 16),
    ] {
        app.add_server(json!({"hostname": host, "idc": idc, "cpu_core_num": cpu}))
            .await;
    }
    let hosts = |q: &str| {
        let admin = app.admin.clone();
        let q = q.to_string();
        async move {
            let found = admin
                .search(json!({"q": q, "sort": "hostname", "count": 100}))
                .await
                .expect("search");
            found
                .result
                .iter()
                .map(|c| c["hostname"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        }
    };
    // a OR NOT b: IDC-B, or whatever has not 8 cores.
    assert_eq!(
        hosts("idc:IDC-B,-~cpu_core_num:8").await,
        ["g-1", "g-3", "g-4"]
    );
    // Left to right (cpu 8 AND IDC-A) OR IDC-C, against a group: cpu 8 AND (IDC-A OR IDC-C).
    assert_eq!(
        hosts("cpu_core_num:8,idc:IDC-A,-idc:IDC-C").await,
        ["g-2", "g-4"]
    );
    assert_eq!(
        hosts("cpu_core_num:8,(idc:IDC-A,-idc:IDC-C)").await,
        ["g-2"]
    );
    assert_eq!(hosts("~(idc:IDC-A,-idc:IDC-B)").await, ["g-4"]);
    assert_eq!(hosts("(g-1;g-4)").await, ["g-1", "g-4"]);
    let refused = app
        .admin
        .search(json!({"q": "(idc:IDC-A,-idc:IDC-C"}))
        .await;
    assert!(matches!(refused, Err(e) if e.status() == Some(400)));
}

/// The walk of `/ci_relations/s` runs on relations the search index keeps: a relation added
/// or deleted, or a CI deleted with its relations, by one process is in the next walk of any.
async fn relation_search_sees_relations_written_by_another_process(backend: TestBackend) {
    let first = TestApp::spawn(backend).await;
    first.server_model().await;
    let root = first.add_server(json!({"hostname": "root"})).await;
    let one = first.add_server(json!({"hostname": "one"})).await;
    let two = first.add_server(json!({"hostname": "two"})).await;
    let under = |app: &TestApp| {
        let admin = app.admin.clone();
        async move {
            let reply = admin
                .call_raw(Method::GET, "/ci_relations/s", &json!({"root_id": root}))
                .await
                .expect("answers");
            assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
            let mut ids: Vec<i64> = reply.body["result"]
                .as_array()
                .map(|r| r.iter().filter_map(|c| c["_id"].as_i64()).collect())
                .unwrap_or_default();
            ids.sort_unstable();
            ids
        }
    };
    // The first process has walked (and so indexed) before the second one writes.
    assert_eq!(under(&first).await, Vec::<i64>::new());
    let second = first.another().await;
    let mut crs = Vec::new();
    for ci in [one, two] {
        let (status, answer) = call(
            &second,
            Method::POST,
            &format!("/ci_relations/{root}/{ci}"),
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        crs.push(answer["cr_id"].as_i64().expect("cr_id"));
    }
    assert_eq!(under(&first).await, vec![one, two]);
    let (status, _) = call(
        &second,
        Method::DELETE,
        &format!("/ci_relations/{}", crs[0]),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(under(&first).await, vec![two]);
    // Deleting a CI deletes its relations: the root's walk loses it too.
    second.admin.delete_ci(two).await.expect("deleted");
    assert_eq!(under(&first).await, Vec::<i64>::new());
    // And the other way round.
    let (status, _) = call(
        &first,
        Method::POST,
        &format!("/ci_relations/{root}/{one}"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(under(&second).await, vec![one]);
}
