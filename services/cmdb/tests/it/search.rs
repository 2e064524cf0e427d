//! `GET /api/v0.1/ci/s`: every operator, typed comparison, paging, facets, sort, fl, ret_key.

use kit::testing::TestBackend;
use serde_json::{json, Value};

use crate::support::{attr_id, refused, TestApp};

kit::on_both_backends!(
    every_operator_selects_what_it_says,
    comparisons_are_typed,
    results_page_sort_and_facet,
    bad_queries_name_the_culprit,
);

/// Ten servers: web-00..web-04 in IDC-A, web-05..web-09 in IDC-B (cpu = 2*i, status
/// offline for odd i), and a `switch` type with one CI.
async fn fleet(app: &TestApp) {
    app.server_model().await;
    for i in 0..10i64 {
        app.add_server(json!({
            "hostname": format!("web-{i:02}"),
            "idc": if i < 5 { "IDC-A" } else { "IDC-B" },
            "cpu_core_num": 2 * i,
            "ram": 0.5 + i as f64,
            "online": format!("2024-01-{:02} 12:00:00", i + 1),
            "status": if i % 2 == 1 { "offline" } else { "online" },
            "nic": ["eth0", format!("eth{}", i % 3)],
        }))
        .await;
    }
    let a = &app.admin;
    a.add_attribute(json!({"attr_name": "port_count", "value_type": "int"}))
        .await
        .expect("port_count");
    let switch = a
        .add_citype(json!({"type_name": "switch", "unique": "hostname"}))
        .await
        .expect("switch")
        .type_id;
    let ports = attr_id(a, "port_count").await;
    a.bind_attributes(switch, &[ports], false)
        .await
        .expect("bound");
    a.add_ci(json!({"ci_type": "switch", "hostname": "web-sw", "port_count": 48}))
        .await
        .expect("switch CI");
}

async fn hostnames(app: &TestApp, params: Value) -> Vec<String> {
    let mut params = params;
    params["count"] = json!(100);
    let found = app.admin.search(params.clone()).await.expect("search");
    let mut names: Vec<String> = found
        .result
        .iter()
        .map(|ci| ci["hostname"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    assert_eq!(found.numfound as usize, names.len(), "{params}");
    names
}

fn web(ids: &[u32]) -> Vec<String> {
    ids.iter().map(|i| format!("web-{i:02}")).collect()
}

async fn every_operator_selects_what_it_says(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    fleet(&app).await;
    // attr:value, by name, alias and id
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:web-03"})).await,
        web(&[3])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "主机名:web-03"})).await,
        web(&[3])
    );
    let cpu = attr_id(&app.admin, "cpu_core_num").await;
    assert_eq!(
        hostnames(&app, json!({"q": format!("{cpu}:6")})).await,
        web(&[3])
    );
    // wildcard
    let mut all_web = web(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    all_web.push("web-sw".into());
    all_web.sort();
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:web-*"})).await,
        all_web
    );
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:*-0*"})).await.len(),
        10
    );
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:WEB-*"})).await,
        Vec::<String>::new()
    );
    // a bare value searches every text attribute
    assert_eq!(hostnames(&app, json!({"q": "web-07"})).await, web(&[7]));
    // AND (default)
    assert_eq!(
        hostnames(&app, json!({"q": "idc:IDC-A,status:offline"})).await,
        web(&[1, 3])
    );
    // OR
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:web-01,-hostname:web-08"})).await,
        web(&[1, 8])
    );
    // NOT, after a term and first
    assert_eq!(
        hostnames(&app, json!({"q": "idc:IDC-A,~status:offline"})).await,
        web(&[0, 2, 4])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "~status:online", "_type": "server"})).await,
        web(&[1, 3, 5, 7, 9])
    );
    // IN, with and without wildcards
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:(web-01;web-09)"})).await,
        web(&[1, 9])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:(web-00*;web-sw*)"})).await,
        vec!["web-00".to_string(), "web-sw".to_string()]
    );
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:(2;4)"})).await,
        web(&[1, 2])
    );
    // RANGE, on text (wildcard ends) and on numbers; `*` is an open end
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:[web-02 _TO_ web-04]"})).await,
        web(&[2, 3, 4])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "hostname:[web-08* _TO_ web-09*]"})).await,
        web(&[8, 9])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:[4 _TO_ 8]"})).await,
        web(&[2, 3, 4])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:[15 _TO_ *]"})).await,
        web(&[8, 9])
    );
    // COMPARISON
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:>14"})).await,
        web(&[8, 9])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:>=14"})).await,
        web(&[7, 8, 9])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:<4"})).await,
        web(&[0, 1])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:<=4"})).await,
        web(&[0, 1, 2])
    );
    // the combination
    assert_eq!(
        hostnames(
            &app,
            json!({"q": "idc:(IDC-A;IDC-B),cpu_core_num:>=8,~status:offline"})
        )
        .await,
        web(&[4, 6, 8])
    );
    // multi-valued attributes match on any of their values
    assert_eq!(
        hostnames(&app, json!({"q": "nic:eth2"})).await,
        web(&[2, 5, 8])
    );
    // _type in q and as a parameter, one or several; _id
    assert_eq!(
        hostnames(&app, json!({"q": "_type:switch"})).await,
        vec!["web-sw".to_string()]
    );
    assert_eq!(
        hostnames(&app, json!({"_type": "(server;switch)"}))
            .await
            .len(),
        11
    );
    assert_eq!(
        hostnames(&app, json!({"_type": "switch", "q": "hostname:web*"}))
            .await
            .len(),
        1
    );
    let id3 = app
        .admin
        .search(json!({"q": "hostname:web-03"}))
        .await
        .expect("s")
        .result[0]["_id"]
        .clone();
    assert_eq!(
        hostnames(&app, json!({"_id": id3.to_string()})).await,
        web(&[3])
    );
    assert_eq!(
        hostnames(&app, json!({"q": format!("_id:({id3};999999)")})).await,
        web(&[3])
    );
    // dates: a bare date is its whole day
    assert_eq!(
        hostnames(&app, json!({"q": "online:2024-01-03"})).await,
        web(&[2])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "online:>2024-01-08"})).await,
        web(&[8, 9])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "online:<2024-01-02 12:00:01"})).await,
        web(&[0, 1])
    );
    // floats
    assert_eq!(hostnames(&app, json!({"q": "ram:>8.5"})).await, web(&[9]));
}

async fn comparisons_are_typed(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    fleet(&app).await;
    // As text "18" < "4"; as numbers it is not.
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:>10"})).await,
        web(&[6, 7, 8, 9])
    );
    assert_eq!(
        hostnames(&app, json!({"q": "cpu_core_num:<10"})).await,
        web(&[0, 1, 2, 3, 4])
    );
    assert_eq!(hostnames(&app, json!({"q": "ram:<2"})).await, web(&[0, 1]));
    let sorted = app
        .admin
        .search(json!({"_type": "server", "sort": "-cpu_core_num", "count": 3}))
        .await
        .expect("sorted");
    let cpus: Vec<Value> = sorted
        .result
        .iter()
        .map(|c| c["cpu_core_num"].clone())
        .collect();
    assert_eq!(cpus, vec![json!(18), json!(16), json!(14)]);
}

async fn results_page_sort_and_facet(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    fleet(&app).await;
    let a = &app.admin;
    let page = a
        .search(json!({"q": "hostname:web*", "count": 4, "page": 3, "sort": "hostname"}))
        .await
        .expect("page 3");
    assert_eq!((page.numfound, page.total, page.page), (11, 3, 3));
    let names: Vec<Value> = page.result.iter().map(|c| c["hostname"].clone()).collect();
    assert_eq!(
        names,
        vec![json!("web-08"), json!("web-09"), json!("web-sw")]
    );
    // `counter` counts the page's CIs per type, as veops CMDB's does (not every match).
    assert_eq!(page.counter.get("server"), Some(&2));
    assert_eq!(page.counter.get("switch"), Some(&1));
    assert_eq!(page.counter.values().sum::<i64>(), page.total);
    // page_size is count's alias; the default page is 25
    assert_eq!(a.search(json!({"page_size": 2})).await.expect("s").total, 2);
    assert_eq!(a.search(json!({})).await.expect("s").total, 11);

    let faceted = a
        .search(
            json!({"_type": "server", "q": "cpu_core_num:>=4", "facet": "idc,status", "count": 1}),
        )
        .await
        .expect("facets");
    // Facets count every match, not just the page.
    assert_eq!(
        faceted.facet["idc"],
        vec![
            (json!("IDC-B"), 5, "idc".to_string()),
            (json!("IDC-A"), 3, "idc".to_string())
        ]
    );
    let status: i64 = faceted.facet["status"].iter().map(|e| e.1).sum();
    assert_eq!(status, 8);

    let shaped = a
        .search(json!({"q": "hostname:web-05", "fl": "hostname,cpu_core_num", "ret_key": "alias"}))
        .await
        .expect("fl");
    let ci = &shaped.result[0];
    assert_eq!(ci["主机名"], json!("web-05"));
    assert_eq!(ci["cpu_core_num"], json!(10));
    assert_eq!(ci["ci_type"], json!("server"));
    assert!(ci.get("idc").is_none(), "only the fl attributes: {ci:?}");
    let full = a
        .search(json!({"q": "hostname:web-05"}))
        .await
        .expect("all");
    assert_eq!(full.result[0]["nic"], json!(["eth0", "eth2"]));
    assert_eq!(full.result[0]["idc"], json!("IDC-B"));
}

async fn bad_queries_name_the_culprit(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    fleet(&app).await;
    let a = &app.admin;
    for (params, named) in [
        (json!({"q": "colour:red"}), "colour"),
        (json!({"q": "_type:router"}), "router"),
        (json!({"_type": "router"}), "router"),
        (json!({"q": "cpu_core_num:>many"}), "many"),
        (json!({"q": "online:>someday"}), "someday"),
        (json!({"q": "hostname:(a;b"}), "hostname:(a;b"),
        (json!({"q": "hostname:[a b]"}), "hostname:[a b]"),
        (json!({"q": "idc:A,:x"}), ":x"),
        (json!({"q": "_id:abc"}), "abc"),
        (json!({"fl": "ghost"}), "ghost"),
        (json!({"facet": "ghost"}), "ghost"),
        (json!({"sort": "-ghost"}), "ghost"),
        (json!({"count": 0}), "count"),
        (json!({"page": 0}), "page"),
        (json!({"ret_key": "x"}), "ret_key"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, message) = refused(a.search(params.clone()).await);
        assert_eq!(status, 400, "{params}: {message}");
        assert!(message.contains(named), "{params}: {message}");
    }
}
