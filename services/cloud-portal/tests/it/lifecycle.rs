//! The instance lifecycle: every transition, refused transitions, ownership, the host pool.

use std::collections::HashMap;

use futures_util::future::join_all;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{api_error, code_and_desc, session_of, TestApp};
use kit::on_both_backends;

on_both_backends!(
    every_transition_and_every_refusal,
    a_new_instance_can_be_deleted_but_not_stopped_or_rebooted,
    creating_leases_a_slot_and_deleting_releases_it,
    every_instance_route_refuses_someone_elses_instance,
    create_refuses_bad_input_clearly,
    a_full_pool_refuses_creates,
    concurrent_creates_never_lease_a_slot_twice,
);

async fn every_transition_and_every_refusal(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 2).await;
    let alice = app.user("alice").await;
    let vm = alice
        .create_instance(image, "web", Some("front end"))
        .await
        .expect("create");
    assert_eq!(
        (vm.status, vm.status_string.as_str()),
        (1, "new instance that hasn't run once")
    );
    assert_eq!(vm.host.as_deref(), Some("10.9.0.1"));
    assert_eq!(vm.summary.as_deref(), Some("front end"));
    let id = vm.id;

    let refused = |verb: &str, state: &str| (7, format!("Instance {id} can not {verb}: {state}"));
    let running = "instance is started by hypervisor";

    assert_eq!(alice.run_instance(id).await.expect("run").status, 3);
    assert_eq!(
        api_error(alice.run_instance(id).await),
        refused("run", running)
    );
    assert_eq!(alice.reboot_instance(id).await.expect("reboot").status, 3);
    assert_eq!(alice.stop_instance(id).await.expect("stop").status, 2);
    assert_eq!(
        api_error(alice.stop_instance(id).await),
        refused("stop", "instance is stopped")
    );
    assert_eq!(
        api_error(alice.reboot_instance(id).await),
        refused("reboot", "instance is stopped")
    );
    assert_eq!(alice.run_instance(id).await.expect("run again").status, 3);
    assert_eq!(alice.query_instance(id).await.expect("query").status, 3);

    // The answer of a transition, raw: desc and the instance.
    let stop = app
        .form(
            "/api/instance/stop",
            json!({"session_key": session_of(&alice), "instance_id": id.to_string()}),
        )
        .await;
    assert_eq!(code_and_desc(&stop), (0, format!("Instance {id} stopped")));
    assert_eq!(
        stop.body["instance"]["status_string"],
        "instance is stopped"
    );
    let query = app
        .form(
            "/api/instance/query",
            json!({"session_key": session_of(&alice), "instance_id": id.to_string()}),
        )
        .await;
    assert_eq!(
        code_and_desc(&query),
        (0, format!("Instance {id}: instance is stopped"))
    );

    let deleted = alice.delete_instance(id).await.expect("delete");
    assert_eq!(
        (deleted.status, deleted.status_string.as_str()),
        (100, "instance is deleted")
    );
    assert_eq!(deleted.host, None);
    let gone = "instance is deleted";
    assert_eq!(
        api_error(alice.run_instance(id).await),
        refused("run", gone)
    );
    assert_eq!(
        api_error(alice.stop_instance(id).await),
        refused("stop", gone)
    );
    assert_eq!(
        api_error(alice.reboot_instance(id).await),
        refused("reboot", gone)
    );
    assert_eq!(
        api_error(alice.delete_instance(id).await),
        refused("delete", gone)
    );
    assert_eq!(alice.query_instance(id).await.expect("query").status, 100);
    assert_eq!(alice.baseinfo(id).await.expect("baseinfo").host, None);

    // A running instance can be deleted too (the driver stops it first).
    let second = alice
        .create_instance(image, "db", None)
        .await
        .expect("create");
    alice.run_instance(second.id).await.expect("run");
    assert_eq!(
        alice
            .delete_instance(second.id)
            .await
            .expect("delete")
            .status,
        100
    );
}

async fn a_new_instance_can_be_deleted_but_not_stopped_or_rebooted(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 1).await;
    let alice = app.user("alice").await;
    let id = alice
        .create_instance(image, "fresh", None)
        .await
        .expect("create")
        .id;
    let new = "new instance that hasn't run once";
    assert_eq!(
        api_error(alice.stop_instance(id).await),
        (7, format!("Instance {id} can not stop: {new}"))
    );
    assert_eq!(
        api_error(alice.reboot_instance(id).await),
        (7, format!("Instance {id} can not reboot: {new}"))
    );
    assert_eq!(alice.delete_instance(id).await.expect("delete").status, 100);
}

async fn creating_leases_a_slot_and_deleting_releases_it(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(2, 2).await;
    let alice = app.user("alice").await;
    let used =
        |hosts: Vec<wire::cloud_portal::Host>| hosts.iter().map(|h| h.used).collect::<Vec<_>>();
    assert_eq!(used(app.admin.hosts().await.expect("hosts")), vec![0, 0]);
    let a = alice.create_instance(image, "a", None).await.expect("a");
    let b = alice.create_instance(image, "b", None).await.expect("b");
    let c = alice.create_instance(image, "c", None).await.expect("c");
    // Lowest host id first: the first host fills before the second is used.
    assert_eq!(
        [a.host.as_deref(), b.host.as_deref(), c.host.as_deref()],
        [Some("10.9.0.1"), Some("10.9.0.1"), Some("10.9.0.2")]
    );
    assert_eq!(used(app.admin.hosts().await.expect("hosts")), vec![2, 1]);
    alice.delete_instance(a.id).await.expect("delete");
    assert_eq!(used(app.admin.hosts().await.expect("hosts")), vec![1, 1]);
    // The freed slot is leased again.
    let d = alice.create_instance(image, "d", None).await.expect("d");
    assert_eq!(d.host.as_deref(), Some("10.9.0.1"));
    assert_eq!(used(app.admin.hosts().await.expect("hosts")), vec![2, 1]);
    // Stopping keeps the lease; only deleting gives it back.
    alice.run_instance(d.id).await.expect("run");
    alice.stop_instance(d.id).await.expect("stop");
    assert_eq!(used(app.admin.hosts().await.expect("hosts")), vec![2, 1]);
}

async fn every_instance_route_refuses_someone_elses_instance(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 2).await;
    let owner = app.user("owner").await;
    let other = app.user("other").await;
    let id = owner
        .create_instance(image, "mine", None)
        .await
        .expect("create")
        .id;
    let expected = (1, format!("Instance {id} is someone else's"));
    for path in [
        "/api/instance/baseinfo",
        "/api/instance/query",
        "/api/instance/run",
        "/api/instance/stop",
        "/api/instance/reboot",
        "/api/instance/delete",
    ] {
        let reply = app
            .form(
                path,
                json!({"session_key": session_of(&other), "instance_id": id.to_string()}),
            )
            .await;
        assert_eq!(code_and_desc(&reply), expected, "{path}");
    }
    // The admin is no exception on the user routes, and nothing changed.
    assert_eq!(api_error(app.admin.run_instance(id).await), expected);
    assert_eq!(owner.query_instance(id).await.expect("query").status, 1);
    // Unknown instances are "not found" on every route.
    for path in [
        "/api/instance/query",
        "/api/instance/run",
        "/api/instance/delete",
    ] {
        let reply = app
            .form(
                path,
                json!({"session_key": session_of(&other), "instance_id": "777"}),
            )
            .await;
        assert_eq!(
            code_and_desc(&reply),
            (4, "Can not find instance 777".into()),
            "{path}"
        );
    }
}

async fn create_refuses_bad_input_clearly(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 2).await;
    let alice = app.user("alice").await;
    let key = session_of(&alice);
    let image = image.to_string();
    for (params, code, words) in [
        (
            json!({"session_key": key, "name": "x"}),
            3,
            "missing parameter `image_id`",
        ),
        (
            json!({"session_key": key, "image_id": "x", "name": "x"}),
            3,
            "`image_id`",
        ),
        (
            json!({"session_key": key, "image_id": "-1", "name": "x"}),
            3,
            "`image_id`",
        ),
        (
            json!({"session_key": key, "image_id": "99999999999999999999", "name": "x"}),
            3,
            "`image_id`",
        ),
        (
            json!({"session_key": key, "image_id": "999", "name": "x"}),
            4,
            "Can not find image 999",
        ),
        (
            json!({"session_key": key, "image_id": image}),
            3,
            "missing parameter `name`",
        ),
        (
            json!({"session_key": key, "image_id": image, "name": "n".repeat(256)}),
            3,
            "`name`",
        ),
        (
            json!({"session_key": key, "image_id": image, "name": "a\u{7}b"}),
            3,
            "`name`",
        ),
        (
            json!({"session_key": key, "image_id": image, "name": "x", "summary": "s".repeat(1025)}),
            3,
            "`summary`",
        ),
        (
            json!({"session_key": key, "image_id": image, "name": "x", "colour": "red"}),
            3,
            "unknown parameter `colour`",
        ),
        (
            json!({"image_id": image, "name": "x"}),
            2,
            "Requires authentication",
        ),
    ] {
        let reply = app.form("/api/instance/create", params.clone()).await;
        let (got_code, desc) = code_and_desc(&reply);
        assert_eq!(got_code, code, "{params}: {desc}");
        assert!(desc.contains(words), "{params}: {desc}");
    }
    assert!(
        alice.my_instances(10, 1).await.expect("list").is_empty(),
        "nothing was created"
    );
    assert_eq!(
        app.admin.hosts().await.expect("hosts")[0].used,
        0,
        "nothing was leased"
    );
}

async fn a_full_pool_refuses_creates(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let alice = app.user("alice").await;
    let image = app.admin.add_image("img", None).await.expect("image").id;
    let (code, desc) = api_error(alice.create_instance(image, "nowhere", None).await);
    assert_eq!(
        (code, desc.as_str()),
        (8, "No free host: every host of the pool is at capacity")
    );
    app.admin.add_host("10.9.1.1", 2222, 1).await.expect("host");
    alice
        .create_instance(image, "one", None)
        .await
        .expect("fits");
    assert_eq!(
        api_error(alice.create_instance(image, "two", None).await).0,
        8
    );
    assert!(alice.my_instances(10, 1).await.expect("list").len() == 1);
}

async fn concurrent_creates_never_lease_a_slot_twice(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    // 3 hosts × 2 slots, 14 creates at once: exactly 6 succeed, 2 per host.
    let image = app.image_and_hosts(3, 2).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let creates = (0..14).map(|n| {
        let client = if n % 2 == 0 {
            alice.clone()
        } else {
            bob.clone()
        };
        async move {
            let result = client.create_instance(image, &format!("vm{n}"), None).await;
            (client, result)
        }
    });
    let results = join_all(creates).await;
    let mut per_host: HashMap<String, usize> = HashMap::new();
    let mut made = Vec::new();
    let mut refused = 0;
    for (client, result) in results {
        match result {
            Ok(vm) => {
                *per_host.entry(vm.host.expect("an address")).or_default() += 1;
                made.push((client, vm.id));
            }
            Err(e) => {
                assert_eq!(e.code(), Some(8), "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 8);
    assert_eq!(per_host.len(), 3, "{per_host:?}");
    assert!(per_host.values().all(|n| *n == 2), "{per_host:?}");
    let hosts = app.admin.hosts().await.expect("hosts");
    assert!(hosts.iter().all(|h| h.used == h.capacity), "{hosts:?}");

    // Give two back, then four creates at once: exactly the two freed slots are leased.
    let frees = made
        .into_iter()
        .take(2)
        .map(|(client, id)| async move { client.delete_instance(id).await.map(|_| ()) });
    join_all(frees)
        .await
        .into_iter()
        .for_each(|r| r.expect("deleted"));
    let again = join_all((0..4).map(|n| {
        let bob = bob.clone();
        async move { bob.create_instance(image, &format!("again{n}"), None).await }
    }))
    .await;
    assert_eq!(again.iter().filter(|r| r.is_ok()).count(), 2);
    let hosts = app.admin.hosts().await.expect("hosts");
    assert!(hosts.iter().all(|h| h.used == h.capacity), "{hosts:?}");
}
