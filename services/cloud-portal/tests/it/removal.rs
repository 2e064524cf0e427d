//! Administration: removing users, images and hosts, and the refusals while they are in use.

use kit::on_both_backends;
use kit::testing::TestBackend;
use serde_json::{json, Value};

use crate::support::{api_error, code_and_desc, session_of, TestApp, ADMIN, BOB_PASSWORD};

on_both_backends!(
    the_admin_deletes_unused_users_images_and_hosts,
    what_is_still_in_use_is_refused_until_its_instances_are_deleted,
    an_admin_can_not_delete_itself,
    removal_refuses_bad_input_unknown_ids_and_non_admins,
);

/// POSTs an admin route with the admin's session and `params`; returns (code, desc, body).
async fn as_admin(app: &TestApp, path: &str, mut params: Value) -> (i64, String, Value) {
    params["session_key"] = json!(session_of(&app.admin));
    let reply = app.form(path, params).await;
    let (code, desc) = code_and_desc(&reply);
    (code, desc, reply.body)
}

async fn the_admin_deletes_unused_users_images_and_hosts(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let bob = app.add_bob().await;
    let bobs_session = app.client.with_session(
        &app.client
            .login("bob", BOB_PASSWORD)
            .await
            .expect("bob logs in"),
    );
    let image = app.admin.add_image("centos 7", None).await.expect("image");
    let host = app.admin.add_host("10.9.0.7", 22, 2).await.expect("host");

    let (code, desc, body) =
        as_admin(&app, "/api/admin/user/delete", json!({"user_id": bob.id})).await;
    assert_eq!((code, desc.as_str()), (0, "User bob deleted"));
    assert_eq!(body["user"]["username"], "bob");
    let (code, desc, body) = as_admin(
        &app,
        "/api/admin/image/delete",
        json!({"image_id": image.id}),
    )
    .await;
    assert_eq!((code, desc.as_str()), (0, "Image centos 7 deleted"));
    assert_eq!(body["image"]["id"], image.id);
    let (code, desc, body) =
        as_admin(&app, "/api/admin/host/delete", json!({"host_id": host.id})).await;
    assert_eq!((code, desc.as_str()), (0, "Host 10.9.0.7 deleted"));
    assert_eq!(body["host"]["address"], "10.9.0.7");

    let users = app.admin.users().await.expect("users");
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        vec![ADMIN]
    );
    assert!(app.admin.images().await.expect("images").is_empty());
    assert!(app.admin.hosts().await.expect("hosts").is_empty());
    // Bob's open session ended with him, and he can no longer log in.
    assert_eq!(
        api_error(bobs_session.my_instances(10, 1).await),
        (2, "Requires authentication".into())
    );
    assert_eq!(
        api_error(app.client.login("bob", BOB_PASSWORD).await),
        (5, "Wrong username or password.".into())
    );
    // A name that was deleted can be used again.
    assert!(app
        .admin
        .add_user("bob", "new-password", "user")
        .await
        .is_ok());
}

async fn what_is_still_in_use_is_refused_until_its_instances_are_deleted(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let image = app.image_and_hosts(1, 4).await;
    let host = app.admin.hosts().await.expect("hosts")[0].id;
    let bob_id = app
        .admin
        .add_user("bob", "password-of-test-user", "user")
        .await
        .expect("bob")
        .id;
    let bob = app.client.with_session(
        &app.client
            .login("bob", "password-of-test-user")
            .await
            .expect("bob logs in"),
    );
    let first = bob.create_instance(image, "a", None).await.expect("a").id;
    let second = bob.create_instance(image, "b", None).await.expect("b").id;
    bob.run_instance(second).await.expect("run b");
    assert_eq!((first, second), (1, 2));

    let user = as_admin(&app, "/api/admin/user/delete", json!({"user_id": bob_id})).await;
    assert_eq!(
        (user.0, user.1.as_str()),
        (
            7,
            "User bob still has 2 instances (1, 2): delete them first"
        )
    );
    let img = as_admin(&app, "/api/admin/image/delete", json!({"image_id": image})).await;
    assert_eq!(
        (img.0, img.1.as_str()),
        (
            7,
            "Image ubuntu-22.04 is still used by 2 instances (1, 2): delete them first"
        )
    );
    let hst = as_admin(&app, "/api/admin/host/delete", json!({"host_id": host})).await;
    assert_eq!(
        (hst.0, hst.1.as_str()),
        (
            7,
            "Host 10.9.0.1 still holds 2 instances (1, 2): delete them first"
        )
    );
    // Nothing was removed by the refusals: bob still works with both instances.
    assert_eq!(bob.my_instances(10, 1).await.expect("list").len(), 2);

    // One left: still refused, now naming one instance.
    bob.delete_instance(first).await.expect("delete a");
    let hst = as_admin(&app, "/api/admin/host/delete", json!({"host_id": host})).await;
    assert_eq!(
        (hst.0, hst.1.as_str()),
        (
            7,
            "Host 10.9.0.1 still holds 1 instance (2): delete them first"
        )
    );
    bob.delete_instance(second).await.expect("delete b");

    // Only deleted instances are left: everything goes, in any order.
    let hst = as_admin(&app, "/api/admin/host/delete", json!({"host_id": host})).await;
    assert_eq!((hst.0, hst.1.as_str()), (0, "Host 10.9.0.1 deleted"));
    let user = as_admin(&app, "/api/admin/user/delete", json!({"user_id": bob_id})).await;
    assert_eq!((user.0, user.1.as_str()), (0, "User bob deleted"));
    let img = as_admin(&app, "/api/admin/image/delete", json!({"image_id": image})).await;
    assert_eq!((img.0, img.1.as_str()), (0, "Image ubuntu-22.04 deleted"));

    // The deleted instances' rows went with their owner, and their ids are not given again.
    let image = app.image_and_hosts(1, 1).await;
    let next = app
        .admin
        .create_instance(image, "after", None)
        .await
        .expect("create");
    assert_eq!(next.id, 3);
    assert_eq!(
        api_error(app.admin.baseinfo(first).await),
        (4, format!("Can not find instance {first}"))
    );
}

async fn an_admin_can_not_delete_itself(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let me = app.admin.users().await.expect("users")[0].clone();
    assert_eq!(me.username, ADMIN);
    let (code, desc, _) = as_admin(&app, "/api/admin/user/delete", json!({"user_id": me.id})).await;
    assert_eq!(
        (code, desc),
        (7, format!("User {ADMIN} can not delete itself"))
    );
    assert_eq!(app.admin.users().await.expect("users").len(), 1);
}

async fn removal_refuses_bad_input_unknown_ids_and_non_admins(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let routes = [
        ("/api/admin/user/delete", "user_id", "user"),
        ("/api/admin/image/delete", "image_id", "image"),
        ("/api/admin/host/delete", "host_id", "host"),
    ];
    let bob = app.user("bob").await;
    for (path, id, what) in routes {
        let (code, desc, _) = as_admin(&app, path, json!({})).await;
        assert_eq!(
            (code, desc),
            (3, format!("missing parameter `{id}`")),
            "{path}"
        );
        for bad in ["abc", "-1", "0", "99999999999999999999"] {
            let (code, desc, _) = as_admin(&app, path, json!({ id: bad })).await;
            assert_eq!(code, 3, "{path} {bad}: {desc}");
        }
        let (code, desc, _) = as_admin(&app, path, json!({ id: 424242, "force": "yes" })).await;
        assert_eq!(code, 3, "{path} takes no unknown parameter: {desc}");
        let (code, desc, _) = as_admin(&app, path, json!({ id: 424242 })).await;
        assert_eq!(
            (code, desc),
            (4, format!("Can not find {what} 424242")),
            "{path}"
        );

        let reply = app
            .form(path, json!({"session_key": session_of(&bob), id: 1}))
            .await;
        assert_eq!(
            code_and_desc(&reply),
            (
                1,
                "administration requires the role admin; bob is a user".into()
            ),
            "{path}"
        );
        let reply = app.form(path, json!({ id: 1 })).await;
        assert_eq!(
            code_and_desc(&reply),
            (2, "Requires authentication".into()),
            "{path}"
        );
    }
}
