//! Issue #13: every route of the table enforces its authorization decision.

use client::{ClientConfig, ResourcePoolClient};
use kit::auth::Role;
use kit::testing::issuer::issuer;
use kit::testing::TestBackend;
use wire::resource_pool::ServerFields;

use crate::support::TestApp;

kit::on_both_backends!(
    every_route_enforces_its_decision,
    a_viewer_reads_and_cannot_write
);

async fn every_route_enforces_its_decision(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let problems =
        kit::testing::access::route_access_problems(&app.url, &resource_pool::table()).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

async fn a_viewer_reads_and_cannot_write(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let viewer = ResourcePoolClient::new(
        ClientConfig::new(&app.url).with_token(issuer().token("viewer", &[Role::Viewer])),
    )
    .unwrap();
    let refused = viewer
        .add_server("10.9.0.1", &ServerFields::default())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused}");
    assert!(refused.message().contains("operator"), "{refused}");
    // Nothing was written.
    assert!(app.client.server("10.9.0.1").await.is_err());
    viewer.all_servers(0, 10).await.unwrap();
}
