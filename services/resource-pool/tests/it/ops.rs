use crate::support::code;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::resource_pool::ErrorCode;

use kit::testing::TestBackend;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::support::TestApp;
use kit::on_both_backends;

on_both_backends!(
    health_readiness_metrics_and_openapi_answer,
    request_ids_are_returned_and_kept,
    unknown_routes_and_methods_answer_in_the_envelope,
);

async fn health_readiness_metrics_and_openapi_answer(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let t = app.client.transport();
    let (status, body) = t.get_text("/healthz").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = t.get_text("/readyz").await.unwrap();
    assert_eq!(status, 200, "{body}");

    app.client.all_servers(0, 0).await.unwrap();
    app.client.server("10.30.0.1").await.unwrap_err();
    let (status, metrics) = t.get_text("/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains(r#"dcp_http_requests_total{service="resource-pool",route="/api/get_all_server",method="GET",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"route="/api/get_server_by_ip",method="GET",status="404"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("dcp_http_request_duration_seconds_bucket{"),
        "{metrics}"
    );

    let (status, spec) = t.get_text("/openapi.json").await.unwrap();
    assert_eq!(status, 200);
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert_eq!(
        spec["openapi"].as_str().map(|v| v.starts_with('3')),
        Some(true)
    );
    for function in resource_pool::functions() {
        let path = format!("/api/{function}");
        assert!(spec["paths"].get(&path).is_some(), "openapi lacks {path}");
        // And the path is really served (not the 404 of an unknown route).
        let reply = app
            .raw(&function, client::Encoding::Query, serde_json::json!({}))
            .await;
        assert!(
            !reply.body["msg"]
                .as_str()
                .unwrap_or_default()
                .contains("no such function"),
            "{path} is not served"
        );
    }
}

async fn request_ids_are_returned_and_kept(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let reply = list_servers_raw(&app.client.with_request_id("trace-42")).await;
    assert_eq!(reply.request_id.as_deref(), Some("trace-42"));
    // Without one, the service makes one up.
    let reply = list_servers_raw(&app.client).await;
    assert!(reply.request_id.is_some_and(|id| id.len() >= 16));
    // A header that could corrupt logs is replaced.
    let reply = list_servers_raw(&app.client.with_request_id("bad id with spaces")).await;
    assert_ne!(reply.request_id.as_deref(), Some("bad id with spaces"));
}

/// `get_all_server` with no parameters, answered as it came.
async fn list_servers_raw(client: &client::ResourcePoolClient) -> client::RawReply {
    client
        .call_raw(
            "get_all_server",
            client::Method::GET,
            client::Encoding::Query,
            &serde_json::json!({}),
        )
        .await
        .unwrap()
}

async fn unknown_routes_and_methods_answer_in_the_envelope(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let base = app.client.transport().base_url().to_string();
    let http = reqwest::Client::new();
    let (status, body) = status_and_body(http.get(format!("{base}/api/get_everything"))).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], ErrorCode::NotFound as i64);
    let (status, body) = status_and_body(http.put(format!("{base}/api/add_server"))).await;
    assert_eq!(status, 405);
    assert_eq!(body["code"], ErrorCode::BadArgument as i64);
    // The trailing slash is accepted.
    let (status, _) = status_and_body(
        http.get(format!("{base}/api/get_all_server/"))
            .bearer_auth(&app.token),
    )
    .await;
    assert_eq!(status, 200);
}

async fn status_and_body(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    // A body that is not JSON reads as null, and fails the caller's checks of it.
    (status, response.json().await.unwrap_or_default())
}

/// A TCP relay in front of the real MariaDB that can be cut and restored, to take the
/// database away from a running service the way a network failure would.
struct Relay {
    addr: SocketAddr,
    cut: Arc<Notify>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(Notify::new());
        Self::serve(listener, target, cut.clone());
        Relay { addr, cut }
    }

    fn serve(listener: TcpListener, target: String, cut: Arc<Notify>) {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = cut.notified() => return,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let target = target.clone();
                        let cut = cut.clone();
                        tokio::spawn(async move {
                            let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = cut.notified() => {}
                            }
                        });
                    }
                }
            }
        });
    }

    /// Closes the listener and every relayed connection.
    fn cut(&self) {
        self.cut.notify_waiters();
    }

    async fn restore(&self, target: String) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("the relay's port again");
        Self::serve(listener, target, self.cut.clone());
    }
}

async fn wait_for_status(app: &TestApp, path: &str, want: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app
            .client
            .transport()
            .get_text(path)
            .await
            .map(|(s, _)| s.as_u16())
            .unwrap_or(0);
        if status == want || Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn readyz_fails_while_mariadb_is_unreachable_and_recovers() {
    let server = kit::testing::mysql_server_url();
    let target = server
        .rsplit('@')
        .next()
        .unwrap_or("127.0.0.1:3306")
        .trim_end_matches('/')
        .to_string();
    let relay = Relay::start(target.clone()).await;
    let relay_addr = relay.addr;
    let direct = target.clone();
    let app = TestApp::spawn_with(TestBackend::Mysql, move |config| {
        // Same database, reached through the relay.
        config.database.url = config
            .database
            .url
            .replacen(&direct, &relay_addr.to_string(), 1);
        config.database.connect_timeout_secs = 1;
    })
    .await;
    assert_eq!(wait_for_status(&app, "/readyz", 200).await, 200);

    relay.cut();
    assert_eq!(wait_for_status(&app, "/readyz", 503).await, 503);
    let err = app.client.all_servers(0, 0).await.unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        (code(ErrorCode::Unavailable), Some(503)),
        "{err}"
    );
    // Liveness is not readiness: the process is fine.
    assert_eq!(
        app.client.transport().get_text("/healthz").await.unwrap().0,
        200
    );

    relay.restore(target).await;
    assert_eq!(wait_for_status(&app, "/readyz", 200).await, 200);
    assert!(app.client.all_servers(0, 0).await.is_ok());
}

#[actix_web::test]
async fn the_client_retries_reads_but_never_writes_after_connection_errors() {
    // A loopback port where nothing listens: every attempt is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("its address");
    drop(listener);
    let mut config = client::ClientConfig::new(&format!("http://{addr}"));
    config.retries = 2;
    config.retry_delay = Duration::from_millis(10);
    let c = client::ResourcePoolClient::new(config).expect("client builds");

    let read = c.all_servers(0, 0).await.unwrap_err();
    assert_eq!(read.attempts(), Some(3), "{read}");
    let write = c
        .add_server("10.40.0.1", &wire::resource_pool::ServerFields::default())
        .await
        .unwrap_err();
    assert_eq!(write.attempts(), Some(1), "{write}");
}
