//! Issue #13 on soa-registry: every route's decision (the route-table test), the roles of
//! bearer tokens, a peer service limited to its `service_zkidcs`, the seed's keys still
//! working, and `/metrics` behind a viewer's token.

use client::{Encoding, Method};
use kit::auth::Role;
use kit::testing::access::route_access_problems;
use kit::testing::issuer::issuer;
use secrecy::SecretString;
use serde_json::json;

use crate::support::{assert_failure, on_qa, Backend, TestApp, KEY, QA_KEY, QA_SERVICE};

/// The route-table test. soa-registry has no SQL database: it runs once, on the embedded
/// store (the ZooKeeper store changes nothing of the decisions).
#[actix_web::test]
async fn every_route_enforces_its_decision() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let problems = route_access_problems(&app.url, &soa_registry::table()).await;
    assert_eq!(problems, Vec::<String>::new());
}

#[actix_web::test]
async fn a_viewer_token_reads_but_cannot_add_a_member() {
    let app = TestApp::spawn(Backend::Embedded).await;
    app.client.add_service("web").await.expect("the key adds");
    let viewer = app.token_client("vera", &[Role::Viewer]);
    assert_eq!(
        viewer.service_list().await.expect("a viewer reads"),
        ["web"]
    );
    assert_eq!(
        viewer
            .with_zkidc("yz")
            .service_list()
            .await
            .expect("on every zkidc"),
        Vec::<String>::new()
    );
    assert_eq!(viewer.server_list("web").await.expect("servers"), vec![]);
    for (path, extra) in [
        (
            "/addserver/",
            vec![("serverHost", "10.0.0.1"), ("serverPort", "80")],
        ),
        ("/addservice/", vec![]),
        ("/delserver/", vec![("serverKey", "member_0000000000")]),
        ("/delservice/", vec![]),
    ] {
        let mut params = vec![("zkidc", "qa"), ("destName", "web")];
        params.extend(extra);
        let reply = viewer
            .call_raw(path, Method::POST, Encoding::Form, &params)
            .await
            .expect("an answer");
        assert_failure(&reply, 403, "vera lacks the role");
    }
    // A viewer's token with a valid key beside it is still the viewer: the token decides.
    let reply = viewer
        .call_raw(
            "/addservice/",
            Method::POST,
            Encoding::Form,
            &on_qa(&[("destName", "sneaky")]),
        )
        .await
        .expect("an answer");
    assert_failure(&reply, 403, "vera lacks the role");
    assert_eq!(app.client.service_list().await.expect("list"), ["web"]);
    assert_eq!(app.client.server_list("web").await.expect("list"), vec![]);
}

#[actix_web::test]
async fn people_tokens_are_allowed_on_every_zkidc() {
    let app = TestApp::spawn(Backend::Embedded).await;
    for (subject, roles) in [("olga", &[Role::Operator][..]), ("ada", &[Role::Admin])] {
        for zkidc in ["qa", "yz"] {
            let c = app.token_client(subject, roles).with_zkidc(zkidc);
            c.add_service(subject).await.expect("add a service");
            let (key, existed) = c
                .add_server(subject, "10.0.0.1", 80)
                .await
                .expect("add a server");
            assert!(!existed);
            c.del_server(subject, &key).await.expect("delete it");
            c.del_service(subject, false)
                .await
                .expect("delete the service");
        }
    }
    // An operator on one cluster only is no platform operator: the registry has no clusters.
    let scoped = issuer().scoped_token(
        "sam",
        &[kit::auth::Grant {
            role: Role::Operator,
            cluster: 1,
        }],
    );
    let c = client::SoaRegistryClient::new(
        client::ClientConfig::new(&app.url).with_token(scoped),
        "",
        "qa",
    )
    .expect("client");
    let err = c.add_service("scoped").await.expect_err("refused");
    assert_eq!(err.status(), Some(403), "{err}");
}

#[actix_web::test]
async fn a_service_token_registers_only_in_its_configured_zkidcs() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let peer = app.token_client(QA_SERVICE, &[Role::Service]);
    // What the task-engine's register and unregister steps do, on its zkidc `qa`.
    peer.add_service("web").await.expect("addservice on qa");
    let (key, _) = peer
        .add_server("web", "10.0.0.1", 80)
        .await
        .expect("addserver on qa");
    let servers = peer.server_list("web").await.expect("serverlist on qa");
    assert_eq!(servers.len(), 1);
    peer.del_server("web", &key).await.expect("delserver on qa");

    // Not on `yz`, which service_zkidcs does not name for it.
    app.client
        .with_zkidc("yz")
        .add_service("web")
        .await
        .expect("the key adds on yz");
    for (path, extra) in [
        ("/addservice/", vec![]),
        (
            "/addserver/",
            vec![("serverHost", "10.0.0.1"), ("serverPort", "80")],
        ),
        ("/delserver/", vec![("serverKey", "member_0000000000")]),
        ("/serverlist/", vec![]),
    ] {
        let mut params = vec![("zkidc", "yz"), ("destName", "web")];
        params.extend(extra);
        let reply = peer
            .call_raw(path, Method::POST, Encoding::Form, &params)
            .await
            .expect("an answer");
        assert_failure(
            &reply,
            403,
            &format!("service `{QA_SERVICE}` may not use zkidc `yz`"),
        );
    }
    // Nor what no built-in step calls: deleting a service, listing services.
    let reply = peer
        .call_raw(
            "/delservice/",
            Method::POST,
            Encoding::Form,
            &[("zkidc", "qa"), ("destName", "web")],
        )
        .await
        .expect("an answer");
    assert_failure(&reply, 403, "lacks the role");
    let reply = peer
        .call_raw(
            "/servicelist/",
            Method::GET,
            Encoding::Query,
            &[("zkidc", "qa")],
        )
        .await
        .expect("an answer");
    assert_failure(&reply, 403, "lacks the role");

    // A service that service_zkidcs does not name may use no zkidc at all.
    let stranger = app.token_client("it-unlisted-service", &[Role::Service]);
    let reply = stranger
        .call_raw(
            "/addservice/",
            Method::POST,
            Encoding::Form,
            &[("zkidc", "qa"), ("destName", "web")],
        )
        .await
        .expect("an answer");
    assert_failure(
        &reply,
        403,
        "service `it-unlisted-service` may not use zkidc `qa`",
    );

    // A service acting for a person is the person: an operator on every zkidc, a viewer not
    // even on the service's own zkidc.
    let for_olga = peer.on_behalf_of(SecretString::from(
        issuer().token("olga", &[Role::Operator]),
    ));
    for_olga
        .with_zkidc("yz")
        .add_server("web", "10.0.0.2", 80)
        .await
        .expect("the service adds for an operator on yz");
    let for_vera = peer.on_behalf_of(SecretString::from(issuer().token("vera", &[Role::Viewer])));
    let err = for_vera
        .add_server("web", "10.0.0.3", 80)
        .await
        .expect_err("a viewer may not add, relayed or not");
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(
        app.client.server_list("web").await.expect("list").len(),
        0,
        "nothing was added on qa"
    );
}

#[actix_web::test]
async fn seed_keys_still_work_without_a_token() {
    let app = TestApp::spawn(Backend::Embedded).await;
    // The global key on every zkidc, reads and writes, as the seed's examples call them.
    for zkidc in ["qa", "yz"] {
        let c = app.client.with_zkidc(zkidc);
        c.add_service("web").await.expect("add");
        let (key, _) = c.add_server("web", "10.0.0.1", 80).await.expect("add");
        assert_eq!(c.service_list().await.expect("list"), ["web"]);
        c.del_server("web", &key).await.expect("delete");
        c.del_service("web", false).await.expect("delete");
    }
    let reply = app.call("/servicelist_all/", &[("keys", KEY)]).await;
    assert_eq!(reply.body["code"], 1, "{}", reply.body);
    // The qa-only key on qa only.
    let qa = app.client.with_key(QA_KEY);
    qa.add_service("mine").await.expect("qa key on qa");
    let reply = app
        .call(
            "/addservice/",
            &[("key", QA_KEY), ("zkidc", "yz"), ("destName", "mine")],
        )
        .await;
    assert_failure(&reply, 403, "invalid key for zkidc `yz`");
    // No key and no token; a wrong key.
    let reply = app
        .call("/addservice/", &[("zkidc", "qa"), ("destName", "x")])
        .await;
    assert_failure(&reply, 403, "missing parameter `key`");
    let reply = app
        .call(
            "/serverlist/",
            &[("key", "wrong"), ("zkidc", "qa"), ("destName", "x")],
        )
        .await;
    assert_failure(&reply, 403, "invalid key");
    // A key does not rescue a bad token: the token is checked, and refused.
    for (_, bad) in issuer().bad_tokens() {
        let c = client::SoaRegistryClient::new(
            client::ClientConfig::new(&app.url).with_token(bad),
            KEY,
            "qa",
        )
        .expect("client");
        let reply = c
            .call_raw(
                "/addservice/",
                Method::POST,
                Encoding::Form,
                &on_qa(&[("destName", "x")]),
            )
            .await
            .expect("an answer");
        assert_failure(&reply, 401, "not authenticated");
    }
    assert_eq!(
        app.client.service_list().await.expect("list"),
        ["mine"],
        "nothing refused was added"
    );
}

async fn scrape(client: &client::SoaRegistryClient) -> (u16, String) {
    let (status, body) = client
        .transport()
        .get_text("/metrics")
        .await
        .expect("/metrics answers");
    (status.as_u16(), body)
}

#[actix_web::test]
async fn metrics_need_a_viewer_token() {
    let app = TestApp::spawn(Backend::Embedded).await;
    // The key is no token: /metrics is the kit's, without a seed credential.
    let (status, body) = scrape(&app.client).await;
    assert_eq!(status, 401, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).expect("the seed's envelope");
    assert_eq!(reply["code"], json!(0), "{body}");
    let (status, _) = scrape(&app.token_client("peer", &[Role::Service])).await;
    assert_eq!(status, 403);
    let (status, text) = scrape(&app.token_client("scraper", &[Role::Viewer])).await;
    assert_eq!(status, 200);
    assert!(text.contains("dcp_soa_services{"), "{text}");
    // Probes need nothing.
    let (status, _) = app
        .client
        .transport()
        .get_text("/readyz")
        .await
        .expect("/readyz answers");
    assert_eq!(status.as_u16(), 200);
}
