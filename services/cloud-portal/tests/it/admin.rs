//! Administration of users, images and hosts; the admin and demo data created at start.

use client::{ClientConfig, CloudPortalClient, Encoding};
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{
    api_error, code_and_desc, session_of, TestApp, ADMIN, ADMIN_PASSWORD, BOB_PASSWORD,
};
use kit::on_both_backends;

on_both_backends!(
    the_admin_adds_and_lists_users_images_and_hosts,
    duplicates_are_conflicts,
    administration_is_for_admins_only,
    admin_routes_refuse_bad_input_clearly,
    the_configured_admin_is_created_once,
    the_demo_configuration_serves_the_seeds_examples,
    service_endpoints_answer,
);

async fn the_admin_adds_and_lists_users_images_and_hosts(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let bob = app.add_bob().await;
    assert_eq!((bob.username.as_str(), bob.role.as_str()), ("bob", "user"));
    app.admin
        .add_user("orch", "orch-password", "service")
        .await
        .expect("service user");
    let users = app.admin.users().await.expect("users");
    assert_eq!(
        users
            .iter()
            .map(|u| (u.username.as_str(), u.role.as_str()))
            .collect::<Vec<_>>(),
        vec![(ADMIN, "admin"), ("bob", "user"), ("orch", "service")]
    );
    assert!(app.client.login("bob", BOB_PASSWORD).await.is_ok());

    let image = app
        .admin
        .add_image("centos 7", Some("CentOS 7 x86_64"))
        .await
        .expect("image");
    assert_eq!(image.summary.as_deref(), Some("CentOS 7 x86_64"));
    assert_eq!(app.admin.images().await.expect("images"), vec![image]);

    let host = app
        .admin
        .add_host("192.168.7.10", 2222, 8)
        .await
        .expect("host");
    assert_eq!(
        (
            host.address.as_str(),
            host.ssh_port,
            host.capacity,
            host.used
        ),
        ("192.168.7.10", 2222, 8, 0)
    );
    // Defaults: ssh_port 22, capacity 1; names as well as addresses.
    let reply = app
        .form(
            "/api/admin/host/add",
            json!({"session_key": session_of(&app.admin), "address": "node-2.example.com"}),
        )
        .await;
    assert_eq!(
        code_and_desc(&reply),
        (0, "Host node-2.example.com added".into())
    );
    assert_eq!(reply.body["host"]["ssh_port"], 22);
    assert_eq!(reply.body["host"]["capacity"], 1);
    assert_eq!(app.admin.hosts().await.expect("hosts").len(), 2);
}

async fn duplicates_are_conflicts(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.admin.add_user("bob", "pw", "user").await.expect("user");
    assert_eq!(
        api_error(app.admin.add_user("bob", "other", "admin").await),
        (7, "User bob already exists".into())
    );
    assert_eq!(
        api_error(app.admin.add_user(ADMIN, "other", "user").await).0,
        7
    );
    app.admin.add_image("img", None).await.expect("image");
    assert_eq!(
        api_error(app.admin.add_image("img", None).await),
        (7, "Image img already exists".into())
    );
    app.admin.add_host("10.0.0.9", 22, 1).await.expect("host");
    assert_eq!(
        api_error(app.admin.add_host("10.0.0.9", 23, 2).await),
        (7, "Host 10.0.0.9 already exists".into())
    );
}

async fn administration_is_for_admins_only(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let bob = app.user("bob").await;
    let orchestrator = app.user_with_role("orch", "service").await;
    for (client, who, role) in [(&bob, "bob", "user"), (&orchestrator, "orch", "service")] {
        let refused = (
            1,
            format!("administration requires the role admin; {who} is a {role}"),
        );
        assert_eq!(api_error(client.users().await), refused);
        assert_eq!(api_error(client.add_user("x", "y", "admin").await), refused);
        assert_eq!(api_error(client.add_image("x", None).await), refused);
        assert_eq!(api_error(client.images().await), refused);
        assert_eq!(api_error(client.add_host("10.1.1.1", 22, 1).await), refused);
        assert_eq!(api_error(client.hosts().await), refused);
    }
    assert_eq!(
        api_error(app.client.users().await),
        (2, "Requires authentication".into())
    );
    assert_eq!(
        app.admin.users().await.expect("users").len(),
        3,
        "nobody was added"
    );
}

async fn admin_routes_refuse_bad_input_clearly(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let key = session_of(&app.admin);
    for (path, params, words) in [
        (
            "/api/admin/user/add",
            json!({"password": "p"}),
            "missing parameter `username`",
        ),
        (
            "/api/admin/user/add",
            json!({"username": "a b", "password": "p"}),
            "`username`",
        ),
        (
            "/api/admin/user/add",
            json!({"username": "u".repeat(65), "password": "p"}),
            "`username`",
        ),
        (
            "/api/admin/user/add",
            json!({"username": "ok"}),
            "missing parameter `password`",
        ),
        (
            "/api/admin/user/add",
            json!({"username": "ok", "password": "p", "role": "root"}),
            "`role`: `root` is not one of",
        ),
        (
            "/api/admin/image/add",
            json!({}),
            "missing parameter `name`",
        ),
        (
            "/api/admin/image/add",
            json!({"name": "n".repeat(300)}),
            "`name`",
        ),
        (
            "/api/admin/host/add",
            json!({}),
            "missing parameter `address`",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "a b"}),
            "`address`: `a b` is not an IP address or a host name",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "0"}),
            "`address`: `0` is not an IP address or a host name",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "-oProxyCommand=touch /tmp/x"}),
            "`address`: `-oProxyCommand=touch /tmp/x` is not an IP address",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "node-1;id"}),
            "`address`: `node-1;id` is not an IP address",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "10.0.0.1", "ssh_port": "70000"}),
            "`ssh_port`: must be between 1 and 65535",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "10.0.0.1", "ssh_port": "ssh"}),
            "`ssh_port`",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "10.0.0.1", "capacity": "0"}),
            "`capacity`: must be between 1 and 10000",
        ),
        (
            "/api/admin/host/add",
            json!({"address": "10.0.0.1", "capacity": "99999999999999999999"}),
            "`capacity`",
        ),
        (
            "/api/admin/host/list",
            json!({"page": "2"}),
            "unknown parameter `page`",
        ),
    ] {
        let mut params = params;
        params["session_key"] = json!(key);
        let reply = app.form(path, params.clone()).await;
        let (code, desc) = code_and_desc(&reply);
        assert_eq!(code, 3, "{path} {params}: {desc}");
        assert!(desc.contains(words), "{path} {params}: {desc}");
        assert_eq!(reply.status.as_u16(), 400);
    }
    // A JSON number or flag is no address either (`0` and `false` were once accepted).
    for number in [json!(0), json!(17), json!(false), json!(true)] {
        let reply = app
            .raw(
                "/api/admin/host/add",
                Encoding::Json,
                json!({"session_key": key, "address": number}),
            )
            .await;
        let (code, desc) = code_and_desc(&reply);
        assert_eq!((reply.status.as_u16(), code), (400, 3), "{number}: {desc}");
        assert!(
            desc.contains("`address`: expected text"),
            "{number}: {desc}"
        );
    }
    assert!(app.admin.hosts().await.expect("hosts").is_empty());
    assert_eq!(app.admin.users().await.expect("users").len(), 1);
}

async fn the_configured_admin_is_created_once(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    // A second start on the same database (a restart) finds the admin and adds nobody.
    let mut config = app.config.clone();
    config.http.bind = "127.0.0.1:0".into();
    let again = kit::testing::serve(cloud_portal::start(config).await.expect("starts again"));
    let users = app.admin.users().await.expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].username.as_str(), users[0].role.as_str()),
        (ADMIN, "admin")
    );
    again.stop().await;
}

async fn the_demo_configuration_serves_the_seeds_examples(backend: TestBackend) {
    let app = TestApp::spawn_with(backend, |c| c.demo.enabled = true).await;
    let luoyun = app
        .client
        .login("luoyun", "luoyun")
        .await
        .expect("the demo user logs in");
    let luoyun = app.client.with_session(&luoyun);
    let list = app
        .form(
            "/api/myun/instance",
            json!({"session_key": session_of(&luoyun), "sepa": 2, "p": 1}),
        )
        .await;
    assert_eq!(
        list.body,
        json!({"code": 0, "desc": "List 2 instances", "list": [
            {"id": 1, "name": "openerp7 img gz", "summary": null, "status": 2, "status_string": "instance is stopped"},
            {"id": 2, "name": "gallery3", "summary": null, "status": 1, "status_string": "new instance that hasn't run once"},
        ]})
    );
    let info = luoyun.baseinfo(1).await.expect("baseinfo");
    assert_eq!(info.host.as_deref(), Some("127.0.0.2"));
    let hosts = app.admin.hosts().await.expect("hosts");
    assert_eq!(
        hosts.iter().map(|h| h.address.as_str()).collect::<Vec<_>>(),
        (2..=11)
            .map(|last| format!("127.0.0.{last}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(app.admin.images().await.expect("images").len(), 1);
}

async fn service_endpoints_answer(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app
        .admin
        .transport()
        .get_text("/readyz")
        .await
        .expect("readyz");
    assert_eq!(status.as_u16(), 200, "{body}");
    let (status, body) = app
        .admin
        .transport()
        .get_text("/healthz")
        .await
        .expect("healthz");
    assert_eq!(status.as_u16(), 200);
    assert!(body.contains("cloud-portal"), "{body}");
    let spec = kit::testing::openapi_document(app.admin.transport().base_url()).await;
    assert_eq!(spec["openapi"], "3.0.3");
    for path in cloud_portal::ROUTES {
        assert!(
            spec["paths"][path]["post"].is_object(),
            "openapi lacks {path}"
        );
    }
    // `/metrics` takes a token (a viewer's at least), as every read does.
    let token = app.bearer(ADMIN, ADMIN_PASSWORD).await;
    let metrics =
        CloudPortalClient::new(ClientConfig::new(&app.base_url).with_token(token)).expect("client");
    let (status, body) = metrics
        .transport()
        .get_text("/metrics")
        .await
        .expect("metrics");
    assert_eq!(status.as_u16(), 200);
    assert!(
        body.contains("cloud-portal") || body.contains("cloud_portal"),
        "{body}"
    );
}
