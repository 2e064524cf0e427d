//! The service API the orchestrator's create_vm / return_vm steps call.

use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{api_error, code_and_desc, session_of, status_of, TestApp};
use kit::on_both_backends;

on_both_backends!(
    a_service_account_creates_running_instances_and_gives_them_back,
    creates_are_all_or_nothing,
    only_service_accounts_and_admins_may_call_it,
    giving_back_checks_ownership_and_input,
    create_refuses_bad_input_clearly,
    concurrent_service_creates_never_lease_a_slot_twice,
    concurrent_creates_and_returns_keep_the_books,
);

async fn a_service_account_creates_running_instances_and_gives_them_back(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.image_and_hosts(2, 2).await;
    let orchestrator = app.user_with_role("orchestrator", "service").await;
    let vms = orchestrator
        .create_vms("ubuntu-22.04", 3, Some("pool-web"))
        .await
        .expect("created");
    assert_eq!(vms.len(), 3);
    for vm in &vms {
        assert_eq!(
            (vm.status, vm.status_string.as_str()),
            (3, "instance is started by hypervisor")
        );
        assert_eq!(vm.name, "pool-web");
    }
    let ips: Vec<_> = vms
        .iter()
        .map(|vm| vm.host.clone().unwrap_or_default())
        .collect();
    assert_eq!(ips, vec!["10.9.0.1", "10.9.0.1", "10.9.0.2"]);
    // They are the account's own instances, seen by the seed's routes too.
    assert_eq!(
        orchestrator.my_instances(10, 1).await.expect("list").len(),
        3
    );
    assert_eq!(
        orchestrator
            .baseinfo(vms[2].id)
            .await
            .expect("baseinfo")
            .host
            .as_deref(),
        Some("10.9.0.2")
    );
    // The raw answer.
    let reply = app
        .form(
            "/api/service/instance/create",
            json!({"session_key": session_of(&orchestrator), "image_id": vms[0].image_id.to_string()}),
        )
        .await;
    assert_eq!(code_and_desc(&reply), (0, "Created 1 instances".into()));
    assert_eq!(
        reply.body["instances"][0]["name"], "ubuntu-22.04",
        "named after the image by default"
    );
    let fourth = reply.body["instances"][0]["id"].as_i64().expect("an id");

    let ids: Vec<i64> = vms.iter().map(|vm| vm.id).chain([fourth]).collect();
    assert_eq!(orchestrator.return_vms(&ids).await.expect("returned"), ids);
    let hosts = app.admin.hosts().await.expect("hosts");
    assert!(hosts.iter().all(|h| h.used == 0), "{hosts:?}");
    assert!(orchestrator
        .my_instances(10, 1)
        .await
        .expect("list")
        .is_empty());
    // Giving back again succeeds (a retried step), and changes nothing.
    assert_eq!(
        orchestrator.return_vms(&ids[..2]).await.expect("again"),
        ids[..2].to_vec()
    );
    assert_eq!(status_of(&orchestrator, ids[0]).await, 100);
}

async fn creates_are_all_or_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.image_and_hosts(2, 2).await;
    let orchestrator = app.user_with_role("orchestrator", "service").await;
    orchestrator
        .create_vms("ubuntu-22.04", 1, None)
        .await
        .expect("one");
    let (code, desc) = api_error(orchestrator.create_vms("ubuntu-22.04", 4, None).await);
    assert_eq!(
        (code, desc.as_str()),
        (8, "No free host: 4 instance(s) requested, room for 3")
    );
    let hosts = app.admin.hosts().await.expect("hosts");
    assert_eq!(
        hosts.iter().map(|h| h.used).sum::<i32>(),
        1,
        "nothing leased: {hosts:?}"
    );
    assert_eq!(
        orchestrator.my_instances(10, 1).await.expect("list").len(),
        1
    );
    assert_eq!(
        orchestrator
            .create_vms("ubuntu-22.04", 3, None)
            .await
            .expect("fits")
            .len(),
        3
    );
}

async fn only_service_accounts_and_admins_may_call_it(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.image_and_hosts(1, 2).await;
    let user = app.user("plain").await;
    let refused = (
        1,
        "the service API requires the role service or admin; plain is a user".to_string(),
    );
    assert_eq!(
        api_error(user.create_vms("ubuntu-22.04", 1, None).await),
        refused
    );
    assert_eq!(api_error(user.return_vms(&[1]).await), refused);
    assert_eq!(
        app.admin
            .create_vms("ubuntu-22.04", 1, None)
            .await
            .expect("admin")
            .len(),
        1
    );
    assert_eq!(
        api_error(app.client.create_vms("ubuntu-22.04", 1, None).await).0,
        2
    );
}

async fn giving_back_checks_ownership_and_input(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 4).await;
    let orchestrator = app.user_with_role("orchestrator", "service").await;
    let alice = app.user("alice").await;
    let hers = alice
        .create_instance(image, "hers", None)
        .await
        .expect("create");
    let ours = orchestrator
        .create_vms("ubuntu-22.04", 1, None)
        .await
        .expect("create")[0]
        .id;
    // One foreign id refuses the whole call: ours is not given back either.
    assert_eq!(
        api_error(orchestrator.return_vms(&[ours, hers.id]).await),
        (1, format!("Instance {} is someone else's", hers.id))
    );
    assert_eq!(status_of(&orchestrator, ours).await, 3);
    assert_eq!(
        api_error(orchestrator.return_vms(&[ours, 9999]).await),
        (4, "Can not find instance 9999".into())
    );
    let key = session_of(&orchestrator);
    for ids in ["", "1,x", "0", "-3", "1,,2", "99999999999999999999"] {
        let reply = app
            .form(
                "/api/service/instance/return",
                json!({"session_key": key, "instance_ids": ids}),
            )
            .await;
        assert_eq!(code_and_desc(&reply).0, 3, "{ids}: {}", reply.body);
    }
    let many: Vec<String> = (1..=101).map(|n| n.to_string()).collect();
    let reply = app
        .form(
            "/api/service/instance/return",
            json!({"session_key": key, "instance_ids": many.join(",")}),
        )
        .await;
    assert_eq!(
        code_and_desc(&reply),
        (
            3,
            "invalid parameter `instance_ids`: at most 100 ids".into()
        )
    );
    assert_eq!(status_of(&orchestrator, ours).await, 3);
}

async fn create_refuses_bad_input_clearly(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 2).await.to_string();
    let key = session_of(&app.admin);
    for (params, code, words) in [
        (
            json!({"session_key": key}),
            3,
            "missing parameter `image_id` (or `image`",
        ),
        (
            json!({"session_key": key, "image": "nope"}),
            4,
            "Can not find image nope",
        ),
        (
            json!({"session_key": key, "image_id": "12345"}),
            4,
            "Can not find image 12345",
        ),
        (
            json!({"session_key": key, "image_id": image, "image": "ubuntu-22.04"}),
            3,
            "not both",
        ),
        (
            json!({"session_key": key, "image_id": "abc"}),
            3,
            "`image_id`",
        ),
        (
            json!({"session_key": key, "image_id": image, "count": "0"}),
            3,
            "`count`: must be between 1 and 100",
        ),
        (
            json!({"session_key": key, "image_id": image, "count": "101"}),
            3,
            "`count`: must be between 1 and 100",
        ),
        (
            json!({"session_key": key, "image_id": image, "count": "many"}),
            3,
            "`count`",
        ),
        (
            json!({"session_key": key, "image_id": image, "count": "1e9"}),
            3,
            "`count`",
        ),
        (
            json!({"session_key": key, "image_id": image, "vm_type": "x"}),
            3,
            "unknown parameter `vm_type`",
        ),
    ] {
        let reply = app
            .form("/api/service/instance/create", params.clone())
            .await;
        let (got, desc) = code_and_desc(&reply);
        assert_eq!(got, code, "{params}: {desc}");
        assert!(desc.contains(words), "{params}: {desc}");
    }
    assert_eq!(app.admin.hosts().await.expect("hosts")[0].used, 0);
}

async fn concurrent_service_creates_never_lease_a_slot_twice(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    // 4 hosts × 3 slots; 8 calls of 2 at once: exactly 6 calls succeed and fill the pool.
    app.image_and_hosts(4, 3).await;
    let orchestrator = app.user_with_role("orchestrator", "service").await;
    let calls = (0..8).map(|_| {
        let o = orchestrator.clone();
        async move { o.create_vms("ubuntu-22.04", 2, None).await }
    });
    let results = futures_util::future::join_all(calls).await;
    let ok: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(ok.len(), 6);
    for result in &results {
        if let Err(e) = result {
            assert_eq!(e.code(), Some(8), "{e}");
        }
    }
    let mut per_host = std::collections::HashMap::<String, usize>::new();
    for vm in ok.iter().flat_map(|vms| vms.iter()) {
        *per_host
            .entry(vm.host.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert_eq!(per_host.len(), 4);
    assert!(per_host.values().all(|n| *n == 3), "{per_host:?}");
    let hosts = app.admin.hosts().await.expect("hosts");
    assert!(hosts.iter().all(|h| h.used == 3), "{hosts:?}");
}

async fn concurrent_creates_and_returns_keep_the_books(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.image_and_hosts(3, 4).await;
    let orchestrator = app.user_with_role("orchestrator", "service").await;
    let first: Vec<i64> = orchestrator
        .create_vms("ubuntu-22.04", 6, None)
        .await
        .expect("six")
        .iter()
        .map(|vm| vm.id)
        .collect();
    // Give back pairs spanning two hosts (in reverse) while creating six more, all at once.
    let returns = [
        [first[5], first[0]],
        [first[4], first[1]],
        [first[3], first[2]],
    ]
    .map(|ids| {
        let o = orchestrator.clone();
        async move { o.return_vms(&ids).await.map(|returned| returned.len()) }
    });
    let creates = (0..6).map(|_| {
        let o = orchestrator.clone();
        async move {
            o.create_vms("ubuntu-22.04", 1, None)
                .await
                .map(|vms| vms.len())
        }
    });
    let (returned, created) = futures_util::future::join(
        futures_util::future::join_all(returns),
        futures_util::future::join_all(creates),
    )
    .await;
    assert!(returned.iter().all(|r| matches!(r, Ok(2))), "{returned:?}");
    assert!(created.iter().all(|r| matches!(r, Ok(1))), "{created:?}");
    let live = orchestrator.my_instances(100, 1).await.expect("list");
    assert_eq!(live.len(), 6);
    let hosts = app.admin.hosts().await.expect("hosts");
    assert_eq!(hosts.iter().map(|h| h.used).sum::<i32>(), 6, "{hosts:?}");
    assert!(hosts.iter().all(|h| h.used <= h.capacity), "{hosts:?}");
}
