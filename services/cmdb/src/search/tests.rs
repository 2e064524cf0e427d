//! The index and the SQL search answer alike: the same searches run both ways on one
//! database and must agree on every count, facet and page.

use kit::db::Db;
use kit::testing::{TestBackend, TestDatabase};
use serde_json::Map;

use super::*;
use crate::auth::Actor;
use crate::service::{AttrInput, CiWrite, TypeInput, WriteMode};
use crate::store;

kit::on_both_backends!(
    index_and_sql_agree,
    writers_outside_the_api_are_seen_once_logged,
    an_index_behind_the_trimmed_change_log_rebuilds
);

fn input(q: &str, facet: Option<&str>, sort: Option<&str>, page: i64) -> SearchInput {
    SearchInput {
        q: q.into(),
        types: None,
        ids: None,
        fl: None,
        ret_key: RetKey::Name,
        count: 7,
        page,
        facet: facet.map(str::to_string),
        sort: sort.map(str::to_string),
        within: None,
    }
}

async fn index_and_sql_agree(backend: TestBackend) {
    let test_db = TestDatabase::create(backend, "cmdb_unit");
    let db = Db::open_async(&test_db.config, crate::migrations())
        .await
        .expect("database opens");
    let cmdb = Cmdb::new(db.clone(), crate::Config::default().api_keys);
    let caller = Actor::of_user(1, "test".into());
    let mut attr_ids = Vec::new();
    for (name, vt, multi) in [
        ("hostname", "text", false),
        ("idc", "text", false),
        ("cpu", "int", false),
        ("ram", "float", false),
        ("online", "date", false),
        ("nic", "text", true),
    ] {
        let made = cmdb
            .add_attribute(AttrInput {
                name: Some(name.into()),
                value_type: Some(vt.into()),
                is_multivalue: Some(multi),
                is_uniq: Some(name == "hostname"),
                ..AttrInput::default()
            })
            .await
            .expect("attribute added");
        attr_ids.push(made.attr_id);
    }
    for type_name in ["server", "switch"] {
        let made = cmdb
            .add_type(TypeInput {
                name: Some(type_name.into()),
                unique: Some("hostname".into()),
                ..TypeInput::default()
            })
            .await
            .expect("type added");
        cmdb.bind_attributes(made.type_id, attr_ids.clone(), false)
            .await
            .expect("attributes bound");
    }
    for i in 0..60_i64 {
        let mut fields = Map::new();
        fields.insert("hostname".into(), Value::from(format!("web-{i}")));
        fields.insert("idc".into(), Value::from(["A", "B", "C"][(i % 3) as usize]));
        if i % 4 != 0 {
            fields.insert(
                "cpu".into(),
                Value::from([4, 8, 16, 32][(i % 5 % 4) as usize]),
            );
        }
        fields.insert("ram".into(), Value::from(0.5 * (i % 7) as f64));
        fields.insert(
            "online".into(),
            Value::from(format!("2024-01-{:02} 1{}:00:00", 1 + i % 20, i % 10)),
        );
        // Some CIs hold the same NIC twice: facets count values, not CIs.
        fields.insert(
            "nic".into(),
            Value::from(vec![format!("eth{}", i % 2), format!("eth{}", i % 3)]),
        );
        cmdb.write_ci(
            caller.clone(),
            WriteMode::Add,
            CiWrite {
                ci_type: if i % 5 == 0 { "switch" } else { "server" }.into(),
                reject_unknown: false,
                ci_id: None,
                fields,
            },
        )
        .await
        .expect("CI added");
    }
    let first = cmdb
        .search(input("hostname:web-7", None, None, 1))
        .await
        .expect("search");
    let seventh = first.result[0]["_id"].as_i64().expect("an id");
    cmdb.delete_ci(caller.clone(), seventh)
        .await
        .expect("CI deleted");

    let queries = [
        "",
        "hostname:web-1*",
        "web-2*",
        "*eb-3*",
        "idc:(A;C),cpu:>=16,~hostname:web-1*",
        "~idc:A",
        "idc:A,-idc:B",
        "cpu:[8 _TO_ 16]",
        "cpu:[* _TO_ 8]",
        "cpu:<8",
        "cpu:>4,cpu:<=16",
        "ram:>1.0",
        "ram:[0.5 _TO_ 1.5]",
        "online:2024-01-03",
        "online:>=2024-01-10 12:00:00",
        "online:[2024-01-02 _TO_ 2024-01-04]",
        "hostname:[web-2 _TO_ web-4*]",
        "hostname:>web-5",
        "_type:switch",
        "_type:(server;switch),idc:B",
        "_id:(1;2;3;7;999)",
        "nic:eth1",
        "nic:*",
        "idc:*",
        // veops CMDB's OR NOT and grouping, and a bare IN list.
        "idc:A,-~cpu:*",
        "-~idc:B",
        "cpu:>=16,(idc:A,-idc:B)",
        "(cpu:>=16,idc:A),-(hostname:web-1*,~nic:eth1)",
        "~(idc:A,-idc:C),-~(cpu:(4;8))",
        "(web-1;web-2;web-30)",
    ];
    // Agreeing on empty answers would prove little: count the pages that hold CIs.
    let mut non_empty_pages = 0;
    for q in queries {
        for (facet, sort, page) in [
            (Some("idc,cpu,ram,online,nic,hostname"), None, 1),
            (None, Some("cpu"), 1),
            (None, Some("-cpu"), 2),
            (None, Some("hostname"), 1),
            (None, Some("-ram"), 1),
            (None, Some("online"), 3),
            (None, Some("-nic"), 1),
            (None, None, 2),
        ] {
            let search = input(q, facet, sort, page);
            let index = cmdb.index.clone();
            let (from_index, from_sql) = db
                .read(move |conn| -> Result<_, Error> {
                    let cat = index.sync(conn)?;
                    let plan = plan(&cat.cat, &search)?;
                    let offset = (search.page - 1).saturating_mul(search.count);
                    let from_index = find_in_index(&index, &plan, offset, search.count)
                        .expect("the index is usable");
                    let from_sql = find_in_sql(conn, &plan, offset, search.count)?;
                    Ok((
                        search_result(conn, &cat, &plan, &search, from_index)?,
                        search_result(conn, &cat, &plan, &search, from_sql)?,
                    ))
                })
                .await
                .expect("both searches run");
            let context = format!("q={q:?} facet={facet:?} sort={sort:?} page={page}");
            if !from_index.result.is_empty() {
                non_empty_pages += 1;
            }
            assert_eq!(
                serde_json::to_value(&from_index).expect("json"),
                serde_json::to_value(&from_sql).expect("json"),
                "{context}"
            );
        }
    }
    assert!(non_empty_pages > 100, "{non_empty_pages} pages held CIs");
}

async fn hostnames(cmdb: &Cmdb, q: &str) -> Vec<String> {
    let found = cmdb.search(input(q, None, None, 1)).await.expect("search");
    found
        .result
        .iter()
        .map(|ci| ci["hostname"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A cmdb on a fresh database with a `server` type keyed by `hostname`, its index built:
/// (the database's guard, the handle, the service, hostname's id, server's id).
async fn indexed_servers(backend: TestBackend) -> (TestDatabase, Db, Cmdb, i64, i64) {
    let test_db = TestDatabase::create(backend, "cmdb_unit");
    let db = Db::open_async(&test_db.config, crate::migrations())
        .await
        .expect("database opens");
    let cmdb = Cmdb::new(db.clone(), crate::Config::default().api_keys);
    let hostname = cmdb
        .add_attribute(AttrInput {
            name: Some("hostname".into()),
            is_uniq: Some(true),
            ..AttrInput::default()
        })
        .await
        .expect("attribute added")
        .attr_id;
    let server = cmdb
        .add_type(TypeInput {
            name: Some("server".into()),
            unique: Some("hostname".into()),
            ..TypeInput::default()
        })
        .await
        .expect("type added")
        .type_id;
    cmdb.sync_index().await.expect("index built");
    (test_db, db, cmdb, hostname, server)
}

/// A bulk load in SQL is invisible to the index until it writes to the change log, and
/// then found, whether it names its CIs or asks for a rebuild.
async fn writers_outside_the_api_are_seen_once_logged(backend: TestBackend) {
    let (_test_db, db, cmdb, hostname, server) = indexed_servers(backend).await;
    let load = |name: &'static str| {
        db.write(move |conn| -> Result<i64, Error> {
            let id = store::insert_ci(conn, server)?;
            store::insert_value(conn, id, hostname, &Typed::Text(name.into()))?;
            Ok(id)
        })
    };

    let named = load("bulk-1").await.expect("loaded");
    assert!(hostnames(&cmdb, "hostname:bulk-*").await.is_empty());
    db.write(move |conn| -> Result<(), Error> { Ok(store::log_changes(conn, &[named])?) })
        .await
        .expect("logged");
    assert_eq!(hostnames(&cmdb, "hostname:bulk-*").await, vec!["bulk-1"]);

    load("bulk-2").await.expect("loaded");
    db.write(|conn| -> Result<(), Error> { Ok(store::log_changes(conn, &[store::REBUILD])?) })
        .await
        .expect("logged");
    assert_eq!(
        hostnames(&cmdb, "hostname:bulk-*").await,
        vec!["bulk-1", "bulk-2"]
    );
}

/// A process whose index is older than the start of the trimmed log cannot catch up from
/// it, so it rebuilds; the trimmed rows are gone.
async fn an_index_behind_the_trimmed_change_log_rebuilds(backend: TestBackend) {
    let (_test_db, db, cmdb, hostname, server) = indexed_servers(backend).await;

    // A CI loaded behind the index's back, then log entries naming other CIs only, then
    // the log trimmed past where this index stands.
    let upto = db
        .write(move |conn| -> Result<i64, Error> {
            let id = store::insert_ci(conn, server)?;
            store::insert_value(conn, id, hostname, &Typed::Text("hidden-1".into()))?;
            for other in [id + 1000, id + 1001, id + 1002] {
                store::log_changes(conn, &[other])?;
            }
            let seq = store::change_seq(conn)?;
            store::trim_changes(conn, seq, 1, 1)?;
            Ok(seq - 1)
        })
        .await
        .expect("loaded, logged and trimmed");
    let (trimmed, left) = db
        .read(move |conn| -> Result<_, Error> {
            Ok((
                store::trimmed_upto(conn)?,
                store::changes_between(conn, 0, upto)?,
            ))
        })
        .await
        .expect("read the log");
    assert_eq!(trimmed, upto, "the log records where it now starts");
    assert!(left.is_empty(), "rows up to {upto} are deleted: {left:?}");
    // Catching up from the log alone would miss `hidden-1`; the rebuild finds it.
    assert_eq!(
        hostnames(&cmdb, "hostname:hidden-*").await,
        vec!["hidden-1"]
    );
}
