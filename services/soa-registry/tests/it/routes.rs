//! Every seed route, its spellings and its failures, on both stores, through the client.

use client::{Encoding, Method};
use serde_json::json;

use crate::on_both_stores;
use crate::support::{assert_failure, code_and_reason, on_qa, Backend, TestApp, KEY, QA_KEY};

on_both_stores!(
    services_are_added_listed_and_deleted,
    servers_are_added_listed_and_deleted,
    addserver_is_idempotent_for_the_same_host_and_port,
    delservice_refuses_a_service_with_servers_unless_forced,
    every_route_takes_the_seed_spellings,
    keys_are_checked_per_zkidc,
    zkidcs_stay_apart,
    missing_things_are_reported,
    bad_input_is_refused_in_the_envelope,
    unknown_routes_and_methods_answer_in_the_envelope,
);

async fn services_are_added_listed_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    assert_eq!(
        c.service_list().await.expect("empty list"),
        Vec::<String>::new()
    );
    c.add_service("ip2city.http").await.expect("add");
    c.add_service("idserver.thrift.http").await.expect("add");
    // Adding an existing service is not an error: it is there, as asked.
    c.add_service("ip2city.http").await.expect("add again");
    assert_eq!(
        c.service_list().await.expect("list"),
        ["idserver.thrift.http", "ip2city.http"]
    );
    // The exact seed shape.
    let reply = app.call("/servicelist/", &on_qa(&[])).await;
    assert_eq!(reply.status.as_u16(), 200);
    assert_eq!(
        reply.body,
        json!({"code": 1, "services": [{"service": "idserver.thrift.http"}, {"service": "ip2city.http"}]})
    );
    c.del_service("ip2city.http", false).await.expect("delete");
    assert_eq!(
        c.service_list().await.expect("list"),
        ["idserver.thrift.http"]
    );
    let reply = app
        .call(
            "/delservice/",
            &on_qa(&[("destName", "idserver.thrift.http")]),
        )
        .await;
    assert_eq!(reply.body, json!({"code": 1}));
}

async fn servers_are_added_listed_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_service("hello").await.expect("add service");
    let (first, existed) = c
        .add_server("hello", "192.168.1.1", 8080)
        .await
        .expect("add");
    assert!(!existed);
    assert!(is_member_key(&first), "{first}");
    let (second, _) = c
        .add_server("hello", "192.168.1.2", 8080)
        .await
        .expect("add");
    let (third, _) = c
        .add_server("hello", "db-3.example.com", 9090)
        .await
        .expect("add");
    assert!(first < second && second < third, "{first} {second} {third}");

    let reply = app
        .call("/serverlist/", &on_qa(&[("destName", "hello")]))
        .await;
    assert_eq!(
        reply.body,
        json!({"code": 1, "servers": [
            {"host": "192.168.1.1", "port": 8080, "key": first, "status": "ALIVE"},
            {"host": "192.168.1.2", "port": 8080, "key": second, "status": "ALIVE"},
            {"host": "db-3.example.com", "port": 9090, "key": third, "status": "ALIVE"},
        ]})
    );

    c.del_server("hello", &second).await.expect("delete");
    let servers = c.server_list("hello").await.expect("list");
    let keys: Vec<&str> = servers.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, [first.as_str(), third.as_str()]);
    // A new member never reuses a deleted member's key.
    let (fourth, _) = c
        .add_server("hello", "192.168.1.2", 8080)
        .await
        .expect("add");
    assert!(fourth > third, "{fourth} after {third}");
}

async fn addserver_is_idempotent_for_the_same_host_and_port(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_service("hello").await.expect("add service");
    let (key, existed) = c.add_server("hello", "10.0.0.1", 80).await.expect("add");
    assert!(!existed);
    let (again, existed) = c
        .add_server("hello", "10.0.0.1", 80)
        .await
        .expect("add again");
    assert_eq!((again.as_str(), existed), (key.as_str(), true));
    // Host names compare without regard to case; another port is another server.
    let (upper, existed) = c.add_server("hello", "HOST-A", 80).await.expect("add");
    assert!(!existed);
    let (lower, existed) = c.add_server("hello", "host-a", 80).await.expect("add");
    assert_eq!((lower.as_str(), existed), (upper.as_str(), true));
    let (other, existed) = c.add_server("hello", "10.0.0.1", 81).await.expect("add");
    assert!(!existed && other != key);
    // Concurrent adds of one host:port still make one member.
    let adds = (0..8).map(|_| c.add_server("hello", "10.0.0.9", 7000));
    let results = futures_join(adds).await;
    let keys: std::collections::BTreeSet<String> =
        results.into_iter().map(|r| r.expect("add").0).collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(c.server_list("hello").await.expect("list").len(), 4);
}

async fn futures_join<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    // Polled together so the requests overlap at the service.
    let joined = futures_util::future::join_all(handles).await;
    out.extend(joined);
    out
}

async fn delservice_refuses_a_service_with_servers_unless_forced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_service("busy").await.expect("add service");
    c.add_server("busy", "10.0.0.1", 80).await.expect("add");
    c.add_server("busy", "10.0.0.2", 80).await.expect("add");
    let reply = app
        .call("/delservice", &on_qa(&[("destName", "busy")]))
        .await;
    assert_failure(&reply, 409, "still has 2 server(s)");
    let reply = app
        .call(
            "/delservice",
            &on_qa(&[("destName", "busy"), ("force", "0")]),
        )
        .await;
    assert_failure(&reply, 409, "force=1");
    assert_eq!(c.server_list("busy").await.expect("still there").len(), 2);
    let reply = app
        .call(
            "/delservice",
            &on_qa(&[("destName", "busy"), ("force", "1")]),
        )
        .await;
    assert_eq!(reply.body, json!({"code": 1}));
    assert_eq!(c.service_list().await.expect("list"), Vec::<String>::new());
}

async fn every_route_takes_the_seed_spellings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The seed's examples, verbatim apart from host and key: GET, query string, `keys`, no slash.
    let add = app
        .call(
            "/addservice",
            &[("destName", "ip2city"), ("keys", KEY), ("zkidc", "qa")],
        )
        .await;
    assert_eq!(add.body, json!({"code": 1}));
    let list = app
        .call(
            "/servicelist",
            &[("destName", "hello"), ("key", KEY), ("zkidc", "qa")],
        )
        .await;
    assert_eq!(
        list.body,
        json!({"code": 1, "services": [{"service": "ip2city"}]})
    );
    let added = app
        .call(
            "/addserver",
            &[
                ("destName", "ip2city"),
                ("keys", KEY),
                ("zkidc", "qa"),
                ("serverHost", "127.0.0.1"),
                ("serverPort", "888"),
            ],
        )
        .await;
    assert_eq!(added.body["code"], 1, "{}", added.body);
    let key = added.body["key"].as_str().expect("a key").to_string();
    assert_eq!(added.body["existed"], false);

    // POST with a form, with and without the trailing slash; POST with JSON.
    for (path, encoding) in [
        ("/serverlist", Encoding::Form),
        ("/serverlist/", Encoding::Form),
        ("/serverlist/", Encoding::Json),
        ("/serverlist/", Encoding::Query),
    ] {
        let reply = app
            .raw(
                path,
                Method::POST,
                encoding,
                &on_qa(&[("destName", "ip2city")]),
            )
            .await;
        assert_eq!(
            reply.body,
            json!({"code": 1, "servers": [{"host": "127.0.0.1", "port": 888, "key": key, "status": "ALIVE"}]}),
            "{path} {encoding:?}"
        );
    }
    let del = app
        .raw(
            "/delserver/",
            Method::POST,
            Encoding::Form,
            &[
                ("destName", "ip2city"),
                ("keys", KEY),
                ("zkidc", "qa"),
                ("serverKey", &key),
            ],
        )
        .await;
    assert_eq!(del.body, json!({"code": 1}));
    let del = app
        .raw(
            "/delservice/",
            Method::POST,
            Encoding::Json,
            &[("destName", "ip2city"), ("key", KEY), ("zkidc", "qa")],
        )
        .await;
    assert_eq!(del.body, json!({"code": 1}));
}

async fn keys_are_checked_per_zkidc(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for route in [
        "/servicelist/",
        "/addservice/",
        "/delservice/",
        "/serverlist/",
        "/addserver/",
        "/delserver/",
    ] {
        let reply = app.call(route, &[("zkidc", "qa"), ("destName", "x")]).await;
        assert_failure(&reply, 403, "missing parameter `key`");
        let reply = app
            .call(
                route,
                &[("key", "wrong"), ("zkidc", "qa"), ("destName", "x")],
            )
            .await;
        assert_failure(&reply, 403, "invalid key");
        let reply = app
            .call(
                route,
                &[("key", QA_KEY), ("zkidc", "yz"), ("destName", "x")],
            )
            .await;
        assert_failure(&reply, 403, "invalid key for zkidc `yz`");
        let reply = app.call(route, &[("key", KEY), ("zkidc", "nowhere")]).await;
        assert_failure(&reply, 400, "unknown zkidc `nowhere` (configured: qa, yz)");
        let reply = app.call(route, &[("key", KEY)]).await;
        assert_failure(&reply, 400, "missing parameter `zkidc`");
    }
    // The qa-only key works on qa.
    let qa = app.client.with_key(QA_KEY);
    qa.add_service("mine").await.expect("qa key on qa");
    assert_eq!(qa.service_list().await.expect("list"), ["mine"]);
}

async fn zkidcs_stay_apart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let qa = &app.client;
    let yz = app.client.with_zkidc("yz");
    qa.add_service("shared-name").await.expect("qa add");
    qa.add_server("shared-name", "10.0.0.1", 80)
        .await
        .expect("qa server");
    assert_eq!(
        yz.service_list().await.expect("yz list"),
        Vec::<String>::new()
    );
    yz.add_service("shared-name").await.expect("yz add");
    yz.add_service("yz-only").await.expect("yz add");
    assert_eq!(
        yz.server_list("shared-name").await.expect("yz servers"),
        vec![]
    );
    assert_eq!(qa.service_list().await.expect("qa list"), ["shared-name"]);
    assert_eq!(
        qa.server_list("shared-name")
            .await
            .expect("qa servers")
            .len(),
        1
    );
    yz.del_service("shared-name", false)
        .await
        .expect("yz delete");
    assert_eq!(qa.service_list().await.expect("qa list"), ["shared-name"]);
}

async fn missing_things_are_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = [("key", KEY), ("zkidc", "qa"), ("destName", "ghost")];
    let reply = app.call("/serverlist/", &base).await;
    assert_failure(&reply, 404, "no such service `ghost` in zkidc `qa`");
    let reply = app.call("/delservice/", &base).await;
    assert_failure(&reply, 404, "no such service `ghost`");
    let mut add = base.to_vec();
    add.extend([("serverHost", "10.0.0.1"), ("serverPort", "80")]);
    let reply = app.call("/addserver/", &add).await;
    assert_failure(&reply, 404, "no such service `ghost`");
    let mut del = base.to_vec();
    del.push(("serverKey", "member_0000000001"));
    let reply = app.call("/delserver/", &del).await;
    assert_failure(&reply, 404, "no such service `ghost`");

    app.client.add_service("real").await.expect("add");
    let reply = app
        .call(
            "/delserver/",
            &on_qa(&[("destName", "real"), ("serverKey", "member_0000000042")]),
        )
        .await;
    assert_failure(
        &reply,
        404,
        "no such server `member_0000000042` in service `real`",
    );
}

async fn bad_input_is_refused_in_the_envelope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.client.add_service("svc").await.expect("add");
    let auth = [("key", KEY), ("zkidc", "qa")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = auth.to_vec();
        all.extend_from_slice(extra);
        all
    };
    for name in ["..", ".", "a/b", "../../zookeeper", "a b", "%2F"] {
        let reply = app.call("/addservice/", &with(&[("destName", name)])).await;
        assert_failure(&reply, 400, "invalid destName");
        let reply = app.call("/serverlist/", &with(&[("destName", name)])).await;
        assert_failure(&reply, 400, "invalid destName");
    }
    let reply = app.call("/addservice/", &with(&[])).await;
    assert_failure(&reply, 400, "missing parameter `destName`");
    for host in ["a/b", "-x", "1.2.3", "", "bad host"] {
        let reply = app
            .call(
                "/addserver/",
                &with(&[
                    ("destName", "svc"),
                    ("serverHost", host),
                    ("serverPort", "80"),
                ]),
            )
            .await;
        let needle = if host.is_empty() {
            "missing parameter `serverHost`"
        } else {
            "invalid serverHost"
        };
        assert_failure(&reply, 400, needle);
    }
    for port in ["0", "65536", "-1", "http", "8080.5"] {
        let reply = app
            .call(
                "/addserver/",
                &with(&[
                    ("destName", "svc"),
                    ("serverHost", "10.0.0.1"),
                    ("serverPort", port),
                ]),
            )
            .await;
        assert_failure(&reply, 400, "invalid serverPort");
    }
    let reply = app
        .call(
            "/addserver/",
            &with(&[("destName", "svc"), ("serverHost", "10.0.0.1")]),
        )
        .await;
    assert_failure(&reply, 400, "missing parameter `serverPort`");
    for key in ["../svc", "a/b", ""] {
        let reply = app
            .call(
                "/delserver/",
                &with(&[("destName", "svc"), ("serverKey", key)]),
            )
            .await;
        let needle = if key.is_empty() {
            "missing parameter `serverKey`"
        } else {
            "invalid serverKey"
        };
        assert_failure(&reply, 400, needle);
    }
    let reply = app
        .call(
            "/delservice/",
            &with(&[("destName", "svc"), ("force", "maybe")]),
        )
        .await;
    assert_failure(&reply, 400, "invalid parameter `force`");
    let reply = app.call("/servicelist/", &with(&[("typo", "1")])).await;
    assert_failure(&reply, 400, "unknown parameter `typo`");
    let reply = app
        .raw("/addservice/", Method::POST, Encoding::Json, &[])
        .await;
    assert_failure(&reply, 403, "missing parameter `key`");
    // Nothing of the above changed the tree.
    assert_eq!(app.client.service_list().await.expect("list"), ["svc"]);
    assert_eq!(app.client.server_list("svc").await.expect("list"), vec![]);
}

async fn unknown_routes_and_methods_answer_in_the_envelope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app
        .raw("/nosuchroute", Method::GET, Encoding::Query, &[])
        .await;
    assert_failure(&reply, 404, "no such route: GET /nosuchroute");
    let reply = app
        .raw("/servicelist/", Method::PUT, Encoding::Query, &on_qa(&[]))
        .await;
    let (code, reason) = code_and_reason(&reply);
    assert_eq!((code, reply.status.as_u16()), (0, 405));
    assert!(reason.contains("use GET or POST"), "{reason}");
    assert_eq!(reply.allow.as_deref(), Some("GET, POST"));
    // A write answers POST alone, as the seed says.
    let reply = app
        .raw(
            "/addservice/",
            Method::GET,
            Encoding::Query,
            &on_qa(&[("destName", "sneaky")]),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 405);
    assert_eq!(reply.allow.as_deref(), Some("POST"));
    assert_eq!(
        app.client.service_list().await.expect("list"),
        Vec::<String>::new()
    );
}

fn is_member_key(key: &str) -> bool {
    key.len() == "member_".len() + 10
        && key.starts_with("member_")
        && key["member_".len()..].chars().all(|c| c.is_ascii_digit())
}
