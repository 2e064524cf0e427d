use kit::testing::TestBackend;
use wire::resource_pool::ErrorCode;
use wire::resource_pool::{DatabaseFields, InstanceFields, ServerFields};

use crate::support::TestApp;
use kit::on_both_backends;

on_both_backends!(
    stat_filters_select_online_and_offline_rows,
    count_limits_the_rows_and_zero_means_all,
    single_reads_answer_with_the_seed_keys,
    ipv6_addresses_are_first_class,
);

async fn seed_inventory(app: &TestApp) {
    let c = &app.client;
    for (ip, stat) in [("10.0.0.1", 1), ("10.0.0.2", 2), ("10.0.0.3", 1)] {
        let fields = ServerFields {
            server_stat: Some(stat),
            ..Default::default()
        };
        c.add_server(ip, &fields).await.expect("add_server");
    }
    for (ip, port, stat) in [
        ("10.0.0.1", 3306, 1),
        ("10.0.0.1", 3307, 2),
        ("10.0.0.2", 3306, 2),
    ] {
        let fields = InstanceFields {
            instance_stat: Some(stat),
            ..Default::default()
        };
        c.add_instance(ip, port, &fields)
            .await
            .expect("add_instance");
    }
    for (db, ip, port, stat) in [
        ("a", "10.0.0.1", 3306, 1),
        ("b", "10.0.0.1", 3306, 2),
        ("c", "10.0.0.1", 3307, 1),
    ] {
        let fields = DatabaseFields {
            database_stat: Some(stat),
            ..Default::default()
        };
        c.add_database(db, ip, port, &fields)
            .await
            .expect("add_database");
    }
}

async fn stat_filters_select_online_and_offline_rows(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    seed_inventory(&app).await;
    let c = &app.client;

    let ips = |servers: Vec<wire::resource_pool::Server>| {
        servers.into_iter().map(|s| s.ip).collect::<Vec<_>>()
    };
    assert_eq!(
        ips(c.all_servers(0, 0).await.unwrap()),
        ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    );
    assert_eq!(
        ips(c.all_servers(1, 0).await.unwrap()),
        ["10.0.0.1", "10.0.0.3"]
    );
    assert_eq!(ips(c.all_servers(2, 0).await.unwrap()), ["10.0.0.2"]);

    let ports = |instances: Vec<wire::resource_pool::Instance>| {
        instances
            .into_iter()
            .map(|i| format!("{}:{}", i.ip, i.port))
            .collect::<Vec<_>>()
    };
    assert_eq!(ports(c.all_instances(0, 0).await.unwrap()).len(), 3);
    assert_eq!(
        ports(c.all_instances(1, 0).await.unwrap()),
        ["10.0.0.1:3306"]
    );
    assert_eq!(
        ports(c.all_instances(2, 0).await.unwrap()),
        ["10.0.0.1:3307", "10.0.0.2:3306"]
    );

    let names = |dbs: Vec<wire::resource_pool::Database>| {
        dbs.into_iter().map(|d| d.name).collect::<Vec<_>>()
    };
    assert_eq!(names(c.all_databases(0, 0).await.unwrap()), ["a", "b", "c"]);
    assert_eq!(names(c.all_databases(1, 0).await.unwrap()), ["a", "c"]);
    assert_eq!(names(c.all_databases(2, 0).await.unwrap()), ["b"]);
}

async fn count_limits_the_rows_and_zero_means_all(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    seed_inventory(&app).await;
    let c = &app.client;
    assert_eq!(c.all_servers(0, 2).await.unwrap().len(), 2);
    assert_eq!(c.all_servers(0, 0).await.unwrap().len(), 3);
    assert_eq!(c.all_servers(0, 100).await.unwrap().len(), 3);
    assert_eq!(c.all_instances(2, 1).await.unwrap().len(), 1);
    assert_eq!(c.all_databases(0, 1).await.unwrap()[0].name, "a");
}

async fn single_reads_answer_with_the_seed_keys(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = app.client.with_model("dba-tools");
    let fields = DatabaseFields {
        database_level: Some("A".into()),
        database_owner: Some("alice".into()),
        database_business: Some("payments".into()),
        database_online: Some("2024-05-01".into()),
        ..Default::default()
    };
    c.add_database("orders", "10.1.0.9", 3310, &fields)
        .await
        .unwrap();

    let db = c.database("10.1.0.9", 3310, "orders").await.unwrap();
    assert_eq!(
        (db.ip.as_str(), db.port, db.name.as_str(), db.level.as_str()),
        ("10.1.0.9", 3310, "orders", "A")
    );
    assert_eq!(
        (db.owner_name.as_str(), db.business.as_str()),
        ("alice", "payments")
    );
    assert!(db.owner.is_some() && db.business_id.is_some());
    assert_eq!(db.online_date, "2024-05-01 00:00:00");
    assert_eq!(db.stat, 1);

    // The keys on the wire are the seed's, spelling included.
    let raw = app
        .raw(
            "get_instance",
            client::Encoding::Query,
            serde_json::json!({"ip": "10.1.0.9", "port": 3310}),
        )
        .await;
    let keys: Vec<&str> = raw.body["result"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in "id ip port server_id name level stat business_id business owner_id owner db_type ha_type online_date".split(' ') {
        assert!(keys.contains(&key), "get_instance lacks `{key}`: {keys:?}");
    }
    let raw = app
        .raw(
            "get_server_by_ip",
            client::Encoding::Query,
            serde_json::json!({"ip": "10.1.0.9"}),
        )
        .await;
    for key in [
        "id",
        "ip",
        "name",
        "os",
        "stat",
        "owner",
        "owner_name",
        "online_date",
    ] {
        assert!(
            raw.body["result"].get(key).is_some(),
            "get_server_by_ip lacks `{key}`"
        );
    }
    assert_eq!(raw.body["code"], ErrorCode::Success as i64);

    // Port defaults to 3306.
    c.add_instance("10.1.0.10", 3306, &InstanceFields::default())
        .await
        .unwrap();
    let raw = app
        .raw(
            "get_instance",
            client::Encoding::Query,
            serde_json::json!({"ip": "10.1.0.10"}),
        )
        .await;
    assert_eq!(raw.body["result"]["port"], 3306);
}

async fn ipv6_addresses_are_first_class(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_database("app", "2001:DB8::10", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    // Written in another form, it is the same address.
    let instance = c.instance("2001:db8:0:0:0:0:0:10", 3306).await.unwrap();
    assert_eq!(instance.ip, "2001:db8::10");
    assert_eq!(c.server("2001:db8::10").await.unwrap().ip, "2001:db8::10");
    assert_eq!(
        c.database("2001:db8::10", 3306, "app").await.unwrap().name,
        "app"
    );
}
