use client::Encoding;
use kit::testing::TestBackend;
use serde_json::json;
use wire::resource_pool::{DatabaseFields, InstanceFields, ServerFields};

use wire::resource_pool::ErrorCode;

use crate::support::{code, code_and_msg, TestApp};
use kit::on_both_backends;

on_both_backends!(
    add_instance_creates_an_unknown_server,
    add_database_creates_the_instance_and_its_server,
    duplicates_are_refused,
    deletes_that_would_orphan_rows_are_refused_unless_cascaded,
    mod_changes_only_the_given_fields,
    mod_database_renames_and_moves,
    unknown_rows_are_not_found,
    parameters_come_from_query_form_or_json,
    concurrent_adds_of_one_server_make_one_row,
);

async fn add_instance_creates_an_unknown_server(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    assert_eq!(
        c.server("10.2.0.1").await.unwrap_err().code(),
        code(ErrorCode::NotFound)
    );
    let fields = InstanceFields {
        instance_name: Some("orders-primary".into()),
        instance_business: Some("shop".into()),
        instance_owner: Some("bob".into()),
        instance_dbtype: Some("mariadb".into()),
        instance_hatype: Some("mha".into()),
        instance_level: Some("S".into()),
        ..Default::default()
    };
    let instance = c.add_instance("10.2.0.1", 3307, &fields).await.unwrap();
    let server = c.server("10.2.0.1").await.unwrap();
    assert_eq!(instance.server_id, server.id);
    assert_eq!(server.stat, 1);
    assert_eq!(
        (
            instance.name.as_str(),
            instance.business.as_str(),
            instance.owner.as_str()
        ),
        ("orders-primary", "shop", "bob")
    );
    assert_eq!(
        (
            instance.db_type.as_str(),
            instance.ha_type.as_str(),
            instance.level.as_str()
        ),
        ("mariadb", "mha", "S")
    );
    // A second instance on the same server does not make a second server.
    c.add_instance("10.2.0.1", 3308, &InstanceFields::default())
        .await
        .unwrap();
    assert_eq!(c.all_servers(0, 0).await.unwrap().len(), 1);
    assert_eq!(c.instance("10.2.0.1", 3308).await.unwrap().db_type, "mysql");
}

async fn add_database_creates_the_instance_and_its_server(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    let db = c
        .add_database("billing", "10.3.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    let instance = c.instance("10.3.0.1", 3306).await.unwrap();
    let server = c.server("10.3.0.1").await.unwrap();
    assert_eq!(db.instance_id, instance.id);
    assert_eq!(instance.server_id, server.id);
    // On an existing instance, nothing else is created.
    c.add_database("ledger", "10.3.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    assert_eq!(c.all_instances(0, 0).await.unwrap().len(), 1);
    assert_eq!(c.all_databases(0, 0).await.unwrap().len(), 2);
}

async fn duplicates_are_refused(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_database("app", "10.4.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();

    let err = c
        .add_server("10.4.0.1", &ServerFields::default())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        (code(ErrorCode::Duplicate), Some(409))
    );
    assert!(err.message().contains("10.4.0.1"), "{}", err.message());

    let err = c
        .add_instance("10.4.0.1", 3306, &InstanceFields::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), code(ErrorCode::Duplicate));
    assert!(err.message().contains("10.4.0.1:3306"), "{}", err.message());

    let err = c
        .add_database("app", "10.4.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), code(ErrorCode::Duplicate));
    assert!(
        err.message().contains("10.4.0.1:3306/app"),
        "{}",
        err.message()
    );

    // Nothing was added by the refused calls.
    assert_eq!(c.all_servers(0, 0).await.unwrap().len(), 1);
    assert_eq!(c.all_instances(0, 0).await.unwrap().len(), 1);
    assert_eq!(c.all_databases(0, 0).await.unwrap().len(), 1);
}

async fn deletes_that_would_orphan_rows_are_refused_unless_cascaded(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_database("a", "10.5.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    c.add_database("b", "10.5.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    c.add_instance("10.5.0.1", 3307, &InstanceFields::default())
        .await
        .unwrap();

    let err = c.del_server("10.5.0.1", false).await.unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        (code(ErrorCode::InUse), Some(409))
    );
    assert!(err.message().contains("cascade"), "{}", err.message());
    let err = c.del_instance("10.5.0.1", 3306, false).await.unwrap_err();
    assert_eq!(err.code(), code(ErrorCode::InUse));
    // Nothing was lost.
    assert_eq!(c.all_instances(0, 0).await.unwrap().len(), 2);
    assert_eq!(c.all_databases(0, 0).await.unwrap().len(), 2);

    // An instance without databases goes without cascade.
    let deleted = c.del_instance("10.5.0.1", 3307, false).await.unwrap();
    assert_eq!((deleted.instances, deleted.databases), (1, 0));
    let deleted = c.del_database("10.5.0.1", 3306, "b").await.unwrap();
    assert_eq!(deleted.databases, 1);

    let deleted = c.del_server("10.5.0.1", true).await.unwrap();
    assert_eq!(
        (deleted.servers, deleted.instances, deleted.databases),
        (1, 1, 1)
    );
    assert!(c.all_servers(0, 0).await.unwrap().is_empty());
    assert!(c.all_instances(0, 0).await.unwrap().is_empty());
    assert!(c.all_databases(0, 0).await.unwrap().is_empty());

    // Cascading an instance removes its databases and keeps the server.
    c.add_database("x", "10.5.0.2", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    let deleted = c.del_instance("10.5.0.2", 3306, true).await.unwrap();
    assert_eq!((deleted.instances, deleted.databases), (1, 1));
    assert!(c.server("10.5.0.2").await.is_ok());
}

async fn mod_changes_only_the_given_fields(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    let fields = ServerFields {
        server_name: Some("db-01".into()),
        server_os: Some("debian 12".into()),
        server_owner: Some("carol".into()),
        server_online: Some("2023-01-02 03:04:05".into()),
        ..Default::default()
    };
    c.add_server("10.6.0.1", &fields).await.unwrap();
    let changed = c
        .mod_server(
            "10.6.0.1",
            &ServerFields {
                server_os: Some("debian 13".into()),
                server_stat: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.os.as_str(), changed.stat),
        ("db-01", "debian 13", 2)
    );
    assert_eq!(
        (changed.owner_name.as_str(), changed.online_date.as_str()),
        ("carol", "2023-01-02 03:04:05")
    );
    assert_eq!(c.server("10.6.0.1").await.unwrap(), changed);

    c.add_instance("10.6.0.1", 3306, &InstanceFields::default())
        .await
        .unwrap();
    let instance = c
        .mod_instance(
            "10.6.0.1",
            3306,
            &InstanceFields {
                instance_hatype: Some("galera".into()),
                instance_business: Some("search".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            instance.ha_type.as_str(),
            instance.business.as_str(),
            instance.db_type.as_str()
        ),
        ("galera", "search", "mysql")
    );
    // The same business name maps to the same business id.
    let other = c
        .add_instance(
            "10.6.0.1",
            3307,
            &InstanceFields {
                instance_business: Some("search".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(other.business_id, instance.business_id);
}

async fn mod_database_renames_and_moves(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_database("old", "10.7.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    c.add_database("taken", "10.7.0.2", 3306, &DatabaseFields::default())
        .await
        .unwrap();

    let renamed = c
        .mod_database(
            "10.7.0.1",
            3306,
            "old",
            &DatabaseFields {
                database_name: Some("new".into()),
                database_level: Some("B".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.level.as_str()),
        ("new", "B")
    );
    assert_eq!(
        c.database("10.7.0.1", 3306, "old")
            .await
            .unwrap_err()
            .code(),
        code(ErrorCode::NotFound)
    );

    // Moving onto a name already used there is a duplicate; moving to an unknown instance is not found.
    let onto_taken = DatabaseFields {
        database_ip: Some("10.7.0.2".into()),
        database_name: Some("taken".into()),
        ..Default::default()
    };
    assert_eq!(
        c.mod_database("10.7.0.1", 3306, "new", &onto_taken)
            .await
            .unwrap_err()
            .code(),
        code(ErrorCode::Duplicate)
    );
    let to_nowhere = DatabaseFields {
        database_port: Some(3399),
        ..Default::default()
    };
    assert_eq!(
        c.mod_database("10.7.0.1", 3306, "new", &to_nowhere)
            .await
            .unwrap_err()
            .code(),
        code(ErrorCode::NotFound)
    );

    let moved = c
        .mod_database(
            "10.7.0.1",
            3306,
            "new",
            &DatabaseFields {
                database_ip: Some("10.7.0.2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.ip.as_str(), moved.port, moved.name.as_str()),
        ("10.7.0.2", 3306, "new")
    );
    assert_eq!(
        moved.instance_id,
        c.instance("10.7.0.2", 3306).await.unwrap().id
    );
}

async fn unknown_rows_are_not_found(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    for err in [
        c.server("10.8.0.1").await.unwrap_err(),
        c.instance("10.8.0.1", 3306).await.unwrap_err(),
        c.database("10.8.0.1", 3306, "x").await.unwrap_err(),
        c.mod_server(
            "10.8.0.1",
            &ServerFields {
                server_os: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err(),
        c.del_server("10.8.0.1", false).await.unwrap_err(),
        c.del_instance("10.8.0.1", 3306, true).await.unwrap_err(),
        c.del_database("10.8.0.1", 3306, "x").await.unwrap_err(),
    ] {
        assert_eq!(
            (err.code(), err.status()),
            (code(ErrorCode::NotFound), Some(404)),
            "{err}"
        );
        assert!(err.message().contains("10.8.0.1"), "{}", err.message());
    }
    let raw = app
        .raw(
            "get_server_by_ip",
            Encoding::Query,
            json!({"ip": "10.8.0.1"}),
        )
        .await;
    assert!(raw.body["result"].is_null());
}

async fn parameters_come_from_query_form_or_json(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (Encoding::Query, "10.9.0.1"),
        (Encoding::Form, "10.9.0.2"),
        (Encoding::Json, "10.9.0.3"),
    ];
    for (encoding, ip) in cases {
        let reply = app
            .raw(
                "add_instance",
                encoding,
                json!({"ip": ip, "port": "3316", "instance_name": "n", "instance_stat": 2}),
            )
            .await;
        assert_eq!(
            code_and_msg(&reply).0,
            ErrorCode::Success as i64,
            "{encoding:?}: {:?}",
            reply.body
        );
        let got = app
            .raw("get_instance", encoding, json!({"ip": ip, "port": 3316}))
            .await;
        assert_eq!(got.body["result"]["stat"], 2, "{encoding:?}");
        assert_eq!(got.body["result"]["name"], "n", "{encoding:?}");
    }
    // JSON numbers and strings are both accepted for integers.
    let reply = app
        .raw(
            "get_all_instance",
            Encoding::Json,
            json!({"stat": 2, "count": "2"}),
        )
        .await;
    assert_eq!(reply.body["result"].as_array().map(Vec::len), Some(2));
    // The seed's spelling `instance_bussiness` and the plain one both work.
    let reply = app
        .raw(
            "mod_instance",
            Encoding::Form,
            json!({"ip": "10.9.0.1", "port": 3316, "instance_business": "plain"}),
        )
        .await;
    assert_eq!(reply.body["result"]["business"], "plain");
    let reply = app
        .raw(
            "mod_instance",
            Encoding::Form,
            json!({"ip": "10.9.0.1", "port": 3316, "instance_bussiness": "seed"}),
        )
        .await;
    assert_eq!(reply.body["result"]["business"], "seed");
}

async fn concurrent_adds_of_one_server_make_one_row(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let fields = ServerFields::default();
    let attempts = (0..8).map(|_| app.client.add_server("10.10.0.1", &fields));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let duplicates = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code() == code(ErrorCode::Duplicate)))
        .count();
    assert_eq!((ok, duplicates), (1, 7), "{results:?}");
    assert_eq!(app.client.all_servers(0, 0).await.unwrap().len(), 1);
}
