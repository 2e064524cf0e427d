//! One identity across the platform, end to end (issue #13): an API token made at cloud-portal
//! opens every service, and once revoked it is refused by every service within the verifiers'
//! poll interval (1 s here, 10 s by default); the seed's `Authorization: root` is refused with
//! a message that says what to send.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use client::{ClientConfig, CloudPortalClient, Encoding, Method, OrchestratorClient};
use dcp_e2e::Platform;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_api_token_is_refused_by_every_service_within_seconds() {
    let platform = tokio::task::spawn_blocking(Platform::start)
        .await
        .expect("the platform starts");
    let admin = CloudPortalClient::new(
        ClientConfig::new(&platform.cloud_portal.url).with_token(platform.token.clone()),
    )
    .unwrap();
    let created = admin
        .call_raw(
            "/api/token/create",
            Encoding::Form,
            &json!({"name": "e2e script", "expires_days": "1"}),
        )
        .await
        .unwrap()
        .body;
    assert_eq!(created["code"], 0, "{created}");
    let token = created["api_token"]["id"].as_i64().unwrap();
    let api_token = created["token"].as_str().unwrap().to_string();

    // Each service, called with the API token: its status for a read.
    let statuses = || {
        let api_token = api_token.clone();
        let urls = [
            format!("{}/cluster/list", platform.orchestrator.url),
            format!("{}/task/list", platform.task_engine.url),
            format!("{}/api/v0.1/ci/s?q=_type:none", platform.cmdb.url),
            format!("{}/metrics", platform.soa_registry.url),
        ];
        async move {
            let http = reqwest_like(&api_token);
            let mut found = Vec::new();
            for url in urls {
                found.push((url.clone(), http(url).await));
            }
            found
        }
    };
    for (url, status) in statuses().await {
        assert!(![401, 403].contains(&status), "{url}: {status}");
    }

    let revoked = admin
        .call_raw(
            "/api/token/revoke",
            Encoding::Form,
            &json!({"token_id": token}),
        )
        .await
        .unwrap()
        .body;
    assert_eq!(revoked["code"], 0, "{revoked}");
    let revoked_at = Instant::now();
    loop {
        let found = statuses().await;
        if found.iter().all(|(_, status)| *status == 401) {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "still accepted 5 s after revocation: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The orchestration seed's `Authorization: root` gets a 401 that says what to send.
    let orchestrator =
        OrchestratorClient::new(ClientConfig::new(&platform.orchestrator.url)).unwrap();
    let anonymous = orchestrator
        .call_raw(Method::GET, "/cluster/list", Encoding::Query, &json!({}))
        .await
        .unwrap();
    assert_eq!(anonymous.status.as_u16(), 401, "{}", anonymous.body);
    let root = root_call(&platform.orchestrator.url).await;
    assert_eq!(root.0, 401);
    assert!(root.1.contains("Bearer"), "{}", root.1);
}

/// A GET with `Authorization: Bearer <token>`, answering the status (through the kit's client,
/// which sends what `ClientConfig` says).
fn reqwest_like(
    token: &str,
) -> impl Fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = u16>>> {
    let token = token.to_string();
    move |url: String| {
        let token = token.clone();
        Box::pin(async move {
            let (base, path) = split(&url);
            let client =
                client::Transport::new(ClientConfig::new(&base).with_token(token)).unwrap();
            match client.get_text(&path).await {
                Ok((status, _)) => status.as_u16(),
                Err(e) => e.status().unwrap_or(0),
            }
        })
    }
}

fn split(url: &str) -> (String, String) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let slash = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| i + after_scheme);
    (url[..slash].to_string(), url[slash..].to_string())
}

/// GET /cluster/list with the seed's `Authorization: root`: status and body.
async fn root_call(base: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let authority = base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&authority).unwrap();
        write!(
            stream,
            "GET /cluster/list HTTP/1.1\r\nHost: {authority}\r\nAuthorization: root\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, answer)
    })
    .await
    .unwrap()
}
