use crate::support::code;
use kit::testing::TestBackend;
use wire::resource_pool::ErrorCode;
use wire::resource_pool::InstanceFields;

use crate::support::TestApp;
use kit::on_both_backends;

on_both_backends!(probe_reports_a_live_mariadb_and_a_dead_port);

/// host and port of the MariaDB the tests use.
fn mariadb_address() -> (String, i32) {
    let url = kit::testing::mysql_server_url();
    let after_at = url
        .rsplit('@')
        .next()
        .unwrap_or("127.0.0.1:3306")
        .trim_end_matches('/');
    let host_port = after_at.split('/').next().unwrap_or("127.0.0.1:3306");
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_string(), port.parse().unwrap_or(3306)),
        None => (host_port.to_string(), 3306),
    }
}

async fn probe_reports_a_live_mariadb_and_a_dead_port(backend: TestBackend) {
    let (host, port) = mariadb_address();
    let app = TestApp::spawn(backend).await;
    let c = &app.client;

    // Only listed instances are probed.
    assert_eq!(
        c.probe(&host, port).await.unwrap_err().code(),
        code(ErrorCode::NotFound)
    );

    c.add_instance(&host, port, &InstanceFields::default())
        .await
        .unwrap();
    let report = c.probe(&host, port).await.unwrap();
    assert!(report.reachable, "{report:?}");
    let version = report.version.unwrap_or_default();
    assert!(
        version.chars().next().is_some_and(|ch| ch.is_ascii_digit()),
        "version `{version}`"
    );
    assert!(report.uptime_seconds.unwrap_or(0) > 0);
    assert!(report.error.is_none());

    // A listed instance where nothing listens is reported, not an error.
    let closed = closed_port();
    c.add_instance("127.0.0.1", closed, &InstanceFields::default())
        .await
        .unwrap();
    let report = c.probe("127.0.0.1", closed).await.unwrap();
    assert!(!report.reachable);
    assert!(report.error.is_some_and(|e| !e.is_empty()));
}

/// A loopback port with nothing listening: bind one, then let it go.
fn closed_port() -> i32 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(1);
    drop(listener);
    i32::from(port)
}
