use kit::testing::TestBackend;
use wire::resource_pool::{AuditFilter, DatabaseFields, ServerFields};

use crate::support::{TestApp, TESTER};
use kit::on_both_backends;

on_both_backends!(
    every_change_is_audited_with_who_what_old_and_new,
    audit_log_filters_and_pages
);

async fn every_change_is_audited_with_who_what_old_and_new(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = app
        .client
        .with_model("backup-agent")
        .with_request_id("req-audit-1");
    c.add_database("app", "10.20.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    c.mod_server(
        "10.20.0.1",
        &ServerFields {
            server_os: Some("rocky 9".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    c.del_server("10.20.0.1", true).await.unwrap();

    let page = app.client.audit_log(&AuditFilter::default()).await.unwrap();
    // add server, instance, database (the chain); mod server; del database, instance, server.
    let actions: Vec<String> = page
        .entries
        .iter()
        .rev()
        .map(|e| format!("{} {}", e.action, e.entity))
        .collect();
    assert_eq!(
        actions,
        [
            "add server",
            "add instance",
            "add database",
            "mod server",
            "del database",
            "del instance",
            "del server"
        ]
    );
    assert!(page
        .entries
        .iter()
        .all(|e| e.model == "backup-agent" && e.request_id == "req-audit-1"));
    // The actor is the token's verified subject, whatever `model` says.
    assert!(page.entries.iter().all(|e| e.who == TESTER), "{page:?}");
    let by_someone_else = app
        .client
        .audit_log(&AuditFilter {
            who: Some("somebody-else".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_someone_else.total, 0);

    let modified = page.entries.iter().find(|e| e.action == "mod").unwrap();
    assert_eq!(modified.target, "10.20.0.1");
    assert_eq!(modified.old_value.as_ref().unwrap()["os"], "");
    assert_eq!(modified.new_value.as_ref().unwrap()["os"], "rocky 9");
    let deleted = page
        .entries
        .iter()
        .find(|e| e.action == "del" && e.entity == "database")
        .unwrap();
    assert_eq!(deleted.target, "10.20.0.1:3306/app");
    assert_eq!(deleted.old_value.as_ref().unwrap()["name"], "app");
    assert!(deleted.new_value.is_none());
    assert!(!deleted.at.is_empty());
}

async fn audit_log_filters_and_pages(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let a = app.client.with_model("a");
    let b = app.client.with_model("b");
    a.add_server("10.21.0.1", &ServerFields::default())
        .await
        .unwrap();
    a.add_server("10.21.0.10", &ServerFields::default())
        .await
        .unwrap();
    b.add_database("x", "10.21.0.1", 3306, &DatabaseFields::default())
        .await
        .unwrap();
    b.del_database("10.21.0.1", 3306, "x").await.unwrap();

    let app = &app;
    let filter = |f: AuditFilter| async move { app.client.audit_log(&f).await.unwrap() };
    assert_eq!(
        filter(AuditFilter {
            model: Some("a".into()),
            ..Default::default()
        })
        .await
        .total,
        2
    );
    assert_eq!(
        filter(AuditFilter {
            model: Some("b".into()),
            ..Default::default()
        })
        .await
        .total,
        3
    );
    assert_eq!(
        filter(AuditFilter {
            action: Some("del".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    assert_eq!(
        filter(AuditFilter {
            entity: Some("database".into()),
            ..Default::default()
        })
        .await
        .total,
        2
    );
    // The ip filter covers the server's instances and databases, not 10.21.0.10.
    assert_eq!(
        filter(AuditFilter {
            ip: Some("10.21.0.1".into()),
            ..Default::default()
        })
        .await
        .total,
        4
    );
    assert_eq!(
        filter(AuditFilter {
            since: Some("2000-01-01".into()),
            until: Some("2000-12-31".into()),
            ..Default::default()
        })
        .await
        .total,
        0
    );

    let first = filter(AuditFilter {
        page_size: Some(2),
        ..Default::default()
    })
    .await;
    let third = filter(AuditFilter {
        page: Some(3),
        page_size: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(
        (first.total, first.entries.len(), third.entries.len()),
        (5, 2, 1)
    );
    assert!(first.entries[0].id > first.entries[1].id, "newest first");
    assert_eq!(third.entries[0].action, "add");
}
