//! The seed's routes, as the seed's clients call them: form posts answered `{"code","desc",...}`.

use std::time::Duration;

use client::Encoding;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{code_and_desc, session_of, TestApp, ADMIN, ADMIN_PASSWORD};
use kit::on_both_backends;

on_both_backends!(
    login_answers_welcome_and_a_40_hex_session_key,
    wrong_user_and_wrong_password_get_the_same_answer,
    repeated_failed_logins_are_slowed_down,
    login_without_its_fields_is_a_bad_argument,
    basic_authorization_and_user_agent_break_nothing,
    baseinfo_describes_my_instance,
    someone_elses_instance_is_refused_with_the_seeds_text,
    baseinfo_refuses_bad_instance_ids_clearly,
    missing_unknown_and_malformed_sessions_require_authentication,
    my_instances_pages_through_my_instances_only,
    my_instances_refuses_bad_paging,
    parameters_may_also_come_as_json_or_query,
    oversized_and_unreadable_bodies_are_refused_in_the_envelope,
);

async fn login_answers_welcome_and_a_40_hex_session_key(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let reply = app
        .form(
            "/api/login",
            json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200);
    assert_eq!(reply.body["code"], 0);
    assert_eq!(reply.body["desc"], "Welcome to LYC.");
    let key = reply.body["session_key"].as_str().expect("a session key");
    assert_eq!(key.len(), 40);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    // Two logins are two sessions.
    let again = app
        .form(
            "/api/login",
            json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_ne!(again.body["session_key"].as_str(), Some(key));
}

async fn wrong_user_and_wrong_password_get_the_same_answer(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let wrong_password = app
        .form("/api/login", json!({"username": ADMIN, "password": "nope"}))
        .await;
    let wrong_user = app
        .form(
            "/api/login",
            json!({"username": "nobody", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(
        code_and_desc(&wrong_password),
        (5, "Wrong username or password.".to_string())
    );
    assert_eq!(code_and_desc(&wrong_user), code_and_desc(&wrong_password));
    assert_eq!(wrong_user.status, wrong_password.status);
    assert!(wrong_user.body.get("session_key").is_none());
}

async fn repeated_failed_logins_are_slowed_down(backend: TestBackend) {
    // failure_delay_ms 300, max 2 s (support::test_config).
    let app = TestApp::spawn(backend).await;
    let bad = json!({"username": ADMIN, "password": "guess"});
    let good = json!({"username": ADMIN, "password": ADMIN_PASSWORD});
    assert_eq!(
        code_and_desc(&app.form("/api/login", bad.clone()).await).0,
        5
    );
    // Right after a failure even the right password is refused, without being checked.
    let blocked = app.form("/api/login", good.clone()).await;
    assert_eq!(
        code_and_desc(&blocked),
        (6, "Too many failed logins: try again in 1 s".to_string())
    );
    assert_eq!(blocked.status.as_u16(), 429);
    // Other usernames are not affected.
    assert_eq!(
        code_and_desc(
            &app.form("/api/login", json!({"username": "other", "password": "x"}))
                .await
        )
        .0,
        5
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    // The second failure in a row doubles the delay (600 ms).
    assert_eq!(
        code_and_desc(&app.form("/api/login", bad.clone()).await).0,
        5
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        code_and_desc(&app.form("/api/login", good.clone()).await).0,
        6
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        code_and_desc(&app.form("/api/login", good.clone()).await).0,
        0
    );
    // A success clears the count: the next failure costs 300 ms again.
    assert_eq!(code_and_desc(&app.form("/api/login", bad).await).0, 5);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(code_and_desc(&app.form("/api/login", good).await).0, 0);
}

async fn login_without_its_fields_is_a_bad_argument(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    for (params, missing) in [
        (json!({"password": "x"}), "username"),
        (json!({"username": ADMIN}), "password"),
        (json!({"username": ADMIN, "password": ""}), "password"),
    ] {
        let reply = app.form("/api/login", params).await;
        assert_eq!(
            code_and_desc(&reply),
            (3, format!("missing parameter `{missing}`"))
        );
        assert_eq!(reply.status.as_u16(), 400);
    }
    let long = "x".repeat(2000);
    let reply = app
        .form("/api/login", json!({"username": ADMIN, "password": long}))
        .await;
    assert_eq!(code_and_desc(&reply).0, 3);
}

async fn basic_authorization_and_user_agent_break_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    // What the seed's scripts send: a Basic header of placeholder text and 'LYC Client'.
    let http = reqwest::Client::new();
    let send = |path: &str, body: String| {
        http.post(format!("{}{path}", app.base_url))
            .header(
                "Authorization",
                "Basic Y2xlYXJ0ZXh0IHVzZXJuYW1lOmNsZWFydGV4dCBwYXNzd29yZHM=",
            )
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("User-Agent", "LYC Client")
            .body(body)
            .send()
    };
    let login: serde_json::Value = send(
        "/api/login",
        format!("username={ADMIN}&password={ADMIN_PASSWORD}"),
    )
    .await
    .expect("answers")
    .json()
    .await
    .expect("JSON");
    assert_eq!(login["code"], 0, "{login}");
    let key = login["session_key"].as_str().expect("a key").to_string();
    let list: serde_json::Value = send(
        "/api/myun/instance",
        format!("session_key={key}&sepa=2&p=1"),
    )
    .await
    .expect("answers")
    .json()
    .await
    .expect("JSON");
    assert_eq!(list["code"], 0, "{list}");
    assert_eq!(list["desc"], "List 0 instances");
}

async fn baseinfo_describes_my_instance(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 4).await;
    let alice = app.user("alice").await;
    let made = alice
        .create_instance(image, "openerp7 img gz", None)
        .await
        .expect("created");
    let reply = app
        .form(
            "/api/instance/baseinfo",
            json!({"session_key": session_of(&alice), "instance_id": made.id.to_string()}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({
            "code": 0,
            "desc": "Information about openerp7 img gz",
            "instance_id": made.id,
            "vdi_type": 1,
            "host": "10.9.0.1",
            "port": null,
        })
    );
    let typed = alice.baseinfo(made.id).await.expect("baseinfo");
    assert_eq!(typed.host.as_deref(), Some("10.9.0.1"));
}

async fn someone_elses_instance_is_refused_with_the_seeds_text(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(2, 4).await;
    let owner = app.user("owner").await;
    let intruder = app.user("intruder").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            owner
                .create_instance(image, &format!("vm{n}"), None)
                .await
                .expect("created")
                .id,
        );
    }
    assert_eq!(ids[4], 5, "a fresh database numbers instances from 1");
    let reply = app
        .form(
            "/api/instance/baseinfo",
            json!({"session_key": session_of(&intruder), "instance_id": "5"}),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({"code": 1, "desc": "Instance 5 is someone else's"})
    );
    assert_eq!(reply.status.as_u16(), 403);
}

async fn baseinfo_refuses_bad_instance_ids_clearly(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let key = session_of(&app.admin);
    let give_me = (3, "Give me instance_id please.".to_string());
    for (params, expected) in [
        (json!({"session_key": key}), give_me.clone()),
        (
            json!({"session_key": key, "instance_id": ""}),
            give_me.clone(),
        ),
        (
            json!({"session_key": key, "instance_id": "0"}),
            give_me.clone(),
        ),
        (
            json!({"session_key": key, "instance_id": "abc"}),
            (
                3,
                "Invalid instance_id: `abc` is not a positive integer".to_string(),
            ),
        ),
        (
            json!({"session_key": key, "instance_id": "-4"}),
            (
                3,
                "Invalid instance_id: `-4` is not a positive integer".to_string(),
            ),
        ),
        (
            json!({"session_key": key, "instance_id": "99999999999999999999999"}),
            (
                3,
                "Invalid instance_id: `99999999999999999999999` is not a positive integer"
                    .to_string(),
            ),
        ),
        (
            json!({"session_key": key, "instance_id": "424242"}),
            (4, "Can not find instance 424242".to_string()),
        ),
        (
            json!({"session_key": key, "instance_id": i64::MAX.to_string()}),
            (4, format!("Can not find instance {}", i64::MAX)),
        ),
    ] {
        let reply = app.form("/api/instance/baseinfo", params.clone()).await;
        assert_eq!(code_and_desc(&reply), expected, "{params}");
    }
    // A list where one value belongs.
    let reply = app
        .raw(
            "/api/instance/baseinfo",
            Encoding::Json,
            json!({"session_key": key, "instance_id": [1, 2]}),
        )
        .await;
    assert_eq!(code_and_desc(&reply).0, 3);
}

async fn missing_unknown_and_malformed_sessions_require_authentication(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let unknown = "0ebfda3c29a9d961c181e2a9424b88e72aa93003";
    for params in [
        json!({"instance_id": "1"}),
        json!({"session_key": "", "instance_id": "1"}),
        json!({"session_key": unknown, "instance_id": "1"}),
        json!({"session_key": "not-a-key", "instance_id": "1"}),
        json!({"session_key": "z".repeat(5000), "instance_id": "1"}),
    ] {
        for path in [
            "/api/instance/baseinfo",
            "/api/myun/instance",
            "/api/logout",
        ] {
            let reply = app.form(path, params.clone()).await;
            assert_eq!(
                code_and_desc(&reply),
                (2, "Requires authentication".to_string()),
                "{path} {params}"
            );
            assert_eq!(reply.status.as_u16(), 401);
        }
    }
}

async fn my_instances_pages_through_my_instances_only(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(4, 5).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut mine = Vec::new();
    for n in 0..12 {
        mine.push(
            alice
                .create_instance(image, &format!("alice-{n}"), Some("a summary"))
                .await
                .expect("created"),
        );
    }
    bob.create_instance(image, "bob-0", None)
        .await
        .expect("created");
    alice.run_instance(mine[1].id).await.expect("run");
    alice.delete_instance(mine[11].id).await.expect("delete");

    let key = session_of(&alice);
    let page = app
        .form(
            "/api/myun/instance",
            json!({"session_key": key, "sepa": "2", "p": "1"}),
        )
        .await;
    assert_eq!(
        page.body,
        json!({
            "code": 0,
            "desc": "List 2 instances",
            "list": [
                {"id": mine[0].id, "name": "alice-0", "summary": "a summary", "status": 1,
                 "status_string": "new instance that hasn't run once"},
                {"id": mine[1].id, "name": "alice-1", "summary": "a summary", "status": 3,
                 "status_string": "instance is started by hypervisor"},
            ]
        })
    );
    // The default page size is the seed document's 10; deleted instances are not listed.
    let default = app
        .form("/api/myun/instance", json!({"session_key": key}))
        .await;
    assert_eq!(default.body["desc"], "List 10 instances");
    let second = alice.my_instances(10, 2).await.expect("page 2");
    assert_eq!(
        second.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![mine[10].id]
    );
    // Past the end: an empty list, code 0 (the document's reading, not the original's code 1).
    let past = app
        .form(
            "/api/myun/instance",
            json!({"session_key": key, "sepa": "5", "p": "9"}),
        )
        .await;
    assert_eq!(
        past.body,
        json!({"code": 0, "desc": "List 0 instances", "list": []})
    );
    let huge_page = app
        .form(
            "/api/myun/instance",
            json!({"session_key": key, "sepa": "1000", "p": i64::MAX.to_string()}),
        )
        .await;
    assert_eq!(code_and_desc(&huge_page), (0, "List 0 instances".into()));
    let bobs = bob.my_instances(10, 1).await.expect("bob's list");
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].name, "bob-0");
}

async fn my_instances_refuses_bad_paging(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let key = session_of(&app.admin);
    for (sepa, p, name) in [
        ("x", "1", "sepa"),
        ("0", "1", "sepa"),
        ("1001", "1", "sepa"),
        ("-1", "1", "sepa"),
        ("10", "0", "p"),
        ("10", "one", "p"),
        ("10", "99999999999999999999999", "p"),
    ] {
        let reply = app
            .form(
                "/api/myun/instance",
                json!({"session_key": key, "sepa": sepa, "p": p}),
            )
            .await;
        let (code, desc) = code_and_desc(&reply);
        assert_eq!(code, 3, "sepa={sepa} p={p}: {desc}");
        assert!(desc.contains(&format!("`{name}`")), "{desc}");
    }
}

async fn parameters_may_also_come_as_json_or_query(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let json_login = app
        .raw(
            "/api/login",
            Encoding::Json,
            json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(json_login.body["code"], 0);
    let key = json_login.body["session_key"].as_str().expect("key");
    // The seed's routes are POSTs; a GET is refused in the envelope.
    let get = app
        .raw(
            "/api/myun/instance",
            Encoding::Query,
            json!({"session_key": key}),
        )
        .await;
    assert_eq!(get.status.as_u16(), 405);
    assert_eq!(
        code_and_desc(&get),
        (
            3,
            "method GET not allowed on /api/myun/instance: use POST".into()
        )
    );
    let unknown = app.form("/api/nothing", json!({})).await;
    assert_eq!(code_and_desc(&unknown).0, 4);
    assert!(code_and_desc(&unknown).1.contains("/api/login"));
}

async fn oversized_and_unreadable_bodies_are_refused_in_the_envelope(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::new();
    let huge = format!("username={}&password=x", "a".repeat(2 * 1024 * 1024));
    for (content_type, body, status) in [
        // Over `http.max_body_bytes`: 413, in the envelope.
        ("application/x-www-form-urlencoded", huge, 413),
        ("application/json", "{broken".to_string(), 400),
        ("text/plain", "username=a".to_string(), 400),
    ] {
        let response = http
            .post(format!("{}/api/login", app.base_url))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status().as_u16(), status, "{content_type}");
        let reply: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(reply["code"], 3, "{content_type}: {reply}");
    }
    // A trailing slash is the same route.
    let reply = app
        .form(
            "/api/login/",
            json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(code_and_desc(&reply), (0, "Welcome to LYC.".into()));
}
