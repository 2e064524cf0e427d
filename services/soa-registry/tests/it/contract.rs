//! The store contract: one suite, run against the embedded store and against real ZooKeeper,
//! so that `make run` behaves as production does.

use soa_registry::store::{CreateMode, Store, StoreError};

/// Generates `<name>::embedded` and `<name>::zookeeper` from `async fn name(&dyn Store)`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn embedded() {
                    let fixture = crate::support::embedded_store();
                    super::$name(fixture.store.as_ref()).await
                }
                #[actix_web::test]
                async fn zookeeper() {
                    let fixture = crate::support::zookeeper_store().await;
                    super::$name(fixture.store.as_ref()).await
                }
            }
        )*
    };
}

contract!(
    nodes_are_created_read_listed_and_deleted,
    sequential_names_follow_the_parent_counter,
    errors_are_zookeepers,
    bad_paths_are_refused,
    ensure_path_creates_ancestors_once,
    data_is_bytes,
    set_data_is_a_compare_and_set,
);

async fn nodes_are_created_read_listed_and_deleted(store: &dyn Store) {
    store.ensure_path("/soa/services").await.expect("ensure");
    let name = store
        .create("/soa/services/ip2city.http", b"x", CreateMode::Persistent)
        .await
        .expect("create");
    assert_eq!(name, "ip2city.http");
    assert_eq!(
        store.get_data("/soa/services/ip2city.http").await,
        Ok(b"x".to_vec())
    );
    store
        .create("/soa/services/b", b"", CreateMode::Persistent)
        .await
        .expect("create b");
    let mut children = store.children("/soa/services").await.expect("children");
    children.sort();
    assert_eq!(children, ["b", "ip2city.http"]);
    assert_eq!(store.exists("/soa/services/b").await, Ok(true));
    store.delete("/soa/services/b").await.expect("delete");
    assert_eq!(store.exists("/soa/services/b").await, Ok(false));
    assert_eq!(
        store.children("/soa/services").await,
        Ok(vec!["ip2city.http".to_string()])
    );
}

async fn sequential_names_follow_the_parent_counter(store: &dyn Store) {
    store.ensure_path("/soa/services/s").await.expect("ensure");
    let mut names = Vec::new();
    for data in [&b"1"[..], b"2", b"3"] {
        names.push(
            store
                .create(
                    "/soa/services/s/member_",
                    data,
                    CreateMode::PersistentSequential,
                )
                .await
                .expect("sequential create"),
        );
    }
    assert_eq!(
        names,
        [
            "member_0000000000",
            "member_0000000001",
            "member_0000000002"
        ]
    );
    assert_eq!(
        store.get_data("/soa/services/s/member_0000000001").await,
        Ok(b"2".to_vec())
    );
    // After deleting the newest member the next number is 3: numbers are never reused.
    store
        .delete("/soa/services/s/member_0000000002")
        .await
        .expect("delete");
    let next = store
        .create(
            "/soa/services/s/member_",
            b"4",
            CreateMode::PersistentSequential,
        )
        .await
        .expect("sequential create");
    assert_eq!(next, "member_0000000003");
}

async fn errors_are_zookeepers(store: &dyn Store) {
    store.ensure_path("/a/b").await.expect("ensure");
    assert!(matches!(
        store.create("/a/b", b"", CreateMode::Persistent).await,
        Err(StoreError::NodeExists(_))
    ));
    assert!(matches!(
        store
            .create("/missing/x", b"", CreateMode::Persistent)
            .await,
        Err(StoreError::NoNode(_))
    ));
    assert!(matches!(
        store.get_data("/missing").await,
        Err(StoreError::NoNode(_))
    ));
    assert!(matches!(
        store.children("/missing").await,
        Err(StoreError::NoNode(_))
    ));
    assert!(matches!(
        store.delete("/missing").await,
        Err(StoreError::NoNode(_))
    ));
    assert!(matches!(
        store.delete("/a").await,
        Err(StoreError::NotEmpty(_))
    ));
    assert_eq!(store.exists("/missing").await, Ok(false));
}

async fn bad_paths_are_refused(store: &dyn Store) {
    for bad in ["relative", "/a/", "/a//b", "/a/../b", "/a/./b"] {
        assert!(
            matches!(store.get_data(bad).await, Err(StoreError::BadPath(_))),
            "get_data {bad}"
        );
        assert!(
            matches!(
                store.create(bad, b"", CreateMode::Persistent).await,
                Err(StoreError::BadPath(_))
            ),
            "create {bad}"
        );
    }
}

async fn ensure_path_creates_ancestors_once(store: &dyn Store) {
    store.ensure_path("/soa/services/x").await.expect("first");
    store.ensure_path("/soa/services/x").await.expect("again");
    store.ensure_path("/soa").await.expect("an ancestor");
    assert_eq!(store.get_data("/soa").await, Ok(Vec::new()));
    assert_eq!(
        store.children("/soa/services").await,
        Ok(vec!["x".to_string()])
    );
}

async fn data_is_bytes(store: &dyn Store) {
    let bytes = vec![0u8, 255, 1, b'{'];
    store
        .create("/bin", &bytes, CreateMode::Persistent)
        .await
        .expect("create");
    assert_eq!(store.get_data("/bin").await, Ok(bytes));
    store
        .create("/text", "中文".as_bytes(), CreateMode::Persistent)
        .await
        .expect("create");
    assert_eq!(
        store.get_data("/text").await,
        Ok("中文".as_bytes().to_vec())
    );
}

async fn set_data_is_a_compare_and_set(store: &dyn Store) {
    store
        .create("/cas", b"one", CreateMode::Persistent)
        .await
        .expect("create");
    let (data, version) = store.get_versioned("/cas").await.expect("read");
    assert_eq!(data, b"one");
    // Fill the view (ZooKeeper), so the write must be seen through it.
    assert_eq!(store.get_data("/cas").await, Ok(b"one".to_vec()));
    store
        .set_data("/cas", b"two", version)
        .await
        .expect("the current version wins");
    assert_eq!(store.get_data("/cas").await, Ok(b"two".to_vec()));
    // The version moved on: a writer that read before is refused, the data stays.
    assert_eq!(
        store.set_data("/cas", b"three", version).await,
        Err(StoreError::BadVersion("/cas".into()))
    );
    assert_eq!(
        store.get_versioned("/cas").await,
        Ok((b"two".to_vec(), version + 1))
    );
    assert!(matches!(
        store.set_data("/missing", b"x", 0).await,
        Err(StoreError::NoNode(_))
    ));
    assert!(matches!(
        store.get_versioned("/missing").await,
        Err(StoreError::NoNode(_))
    ));
}

/// Embedded only: what was acknowledged is there after a restart, sequence counters included.
#[actix_web::test]
async fn the_embedded_store_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp folder");
    let file = dir.path().join("nested").join("qa.json");
    {
        let store = soa_registry::store::EmbeddedStore::open(&file).expect("opens");
        store.ensure_path("/soa/services/s").await.expect("ensure");
        store
            .create(
                "/soa/services/s/member_",
                b"one",
                CreateMode::PersistentSequential,
            )
            .await
            .expect("create");
    }
    let store = soa_registry::store::EmbeddedStore::open(&file).expect("reopens");
    assert_eq!(
        store.get_data("/soa/services/s/member_0000000000").await,
        Ok(b"one".to_vec())
    );
    let next = store
        .create(
            "/soa/services/s/member_",
            b"two",
            CreateMode::PersistentSequential,
        )
        .await
        .expect("create");
    assert_eq!(next, "member_0000000001");
    // No temp file is left behind by the atomic writes.
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().expect("folder"))
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(leftovers, ["qa.json"]);

    std::fs::write(&file, b"{not json").expect("corrupt it");
    let err = soa_registry::store::EmbeddedStore::open(&file)
        .err()
        .expect("a corrupt snapshot is refused");
    assert!(err.to_string().contains("not a snapshot"), "{err}");
}
