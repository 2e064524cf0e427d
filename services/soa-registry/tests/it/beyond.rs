//! Beyond the seed: the TCP health check, the listing across zkidcs, the per-zkidc metrics,
//! the write logs with the verified subject, and `/openapi.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use kit::auth::Role;
use secrecy::SecretString;
use serde_json::{json, Value};
use soa_registry::config::EMBEDDED;
use tracing_subscriber::EnvFilter;

use crate::on_both_stores;
use crate::support::{
    assert_failure, direct_client, free_port, zkidcs, Backend, TestApp, KEY, OWNER, QA_KEY,
    QA_OWNER, QA_SERVICE,
};

on_both_stores!(
    the_health_check_flips_alive_and_dead,
    services_are_listed_across_zkidcs,
    metrics_count_per_zkidc,
    writes_are_logged_with_the_verified_subject,
);

/// Health check on `qa` every 100 ms, connects given up after 300 ms.
fn check_qa(config: &mut soa_registry::config::Config) {
    config.health.zkidcs.insert("qa".into(), true);
    config.health.interval_ms = 100;
    config.health.connect_timeout_ms = 300;
}

/// `dcp_soa_health_leader` of `qa` in `app` (ZooKeeper store).
async fn leads_qa(app: &TestApp) -> bool {
    let series = format!(
        "dcp_soa_health_leader{{{}}}",
        labels("qa", Backend::ZooKeeper)
    );
    metric(&metrics_text(app).await, &series) == Some(1)
}

/// Two processes on one ZooKeeper zkidc elect one health checker: the other probes nothing
/// while the first leads, and takes over when it stops.
#[actix_web::test]
async fn two_processes_on_one_zkidc_elect_one_health_checker() {
    let zkidcs = zkidcs(Backend::ZooKeeper);
    let first = TestApp::spawn_with(zkidcs.clone(), check_qa).await;
    let second = TestApp::spawn_with(zkidcs, check_qa).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let (leader, follower) = loop {
        match (leads_qa(&first).await, leads_qa(&second).await) {
            (true, false) => break (first, second),
            (false, true) => break (second, first),
            (both, _) => assert!(
                Instant::now() < deadline,
                "no single leader after 15 s (both lead: {both})"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    leader.client.add_service("web").await.expect("add service");
    let closed = free_port();
    let (key, _) = leader
        .client
        .add_server("web", "127.0.0.1", closed)
        .await
        .expect("add");
    wait_for_status(&leader, "qa", "web", &key, "DEAD").await;
    let checks = format!(
        "dcp_soa_health_checks_total{{{}}}",
        labels("qa", Backend::ZooKeeper)
    );
    assert!(metric(&metrics_text(&leader).await, &checks) >= Some(1));
    assert_eq!(
        metric(&metrics_text(&follower).await, &checks),
        Some(0),
        "the follower probes nothing while the leader checks"
    );

    drop(leader);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !leads_qa(&follower).await {
        assert!(
            Instant::now() < deadline,
            "the follower did not take over within 15 s of the leader stopping"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let revived = TcpListener::bind(("127.0.0.1", closed)).expect("listen on the closed port");
    wait_for_status(&follower, "qa", "web", &key, "ALIVE").await;
    drop(revived);
}

/// The `status` of member `key` in `service` of `zkidc`, as `serverlist` shows it.
async fn status_of(app: &TestApp, zkidc: &str, service: &str, key: &str) -> String {
    let reply = app
        .call(
            "/serverlist/",
            &[("key", KEY), ("zkidc", zkidc), ("destName", service)],
        )
        .await;
    assert_eq!(reply.body["code"], 1, "{}", reply.body);
    reply.body["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["key"] == key)
        .and_then(|s| s["status"].as_str())
        .unwrap_or_else(|| panic!("no member {key} in {}", reply.body))
        .to_string()
}

/// Waits (at most 10 s) until `serverlist` shows `status` for the member.
async fn wait_for_status(app: &TestApp, zkidc: &str, service: &str, key: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = status_of(app, zkidc, service, key).await;
        if now == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{zkidc}/{service}/{key} is still {now}, not {status}, after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_health_check_flips_alive_and_dead(backend: Backend) {
    let zkidcs = zkidcs(backend);
    let qa_connect = zkidcs["qa"].clone();
    // Checked on qa only; yz keeps the default (off).
    let app = TestApp::spawn_with(zkidcs, |config| {
        config.health.zkidcs.insert("qa".into(), true);
        config.health.interval_ms = 100;
        config.health.connect_timeout_ms = 300;
    })
    .await;
    let c = &app.client;
    let listener = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let open = listener.local_addr().expect("its address").port();
    let closed = free_port();
    let unlistened = free_port();
    c.add_service("web").await.expect("add service");
    let (open_key, _) = c.add_server("web", "127.0.0.1", open).await.expect("add");
    let (closed_key, _) = c.add_server("web", "127.0.0.1", closed).await.expect("add");
    // On ZooKeeper, a member in another status, as a ServerSet client registers it: the check
    // must leave it alone although its port is closed. (The embedded store lives inside the
    // service, so no other writer can put one there; health.rs unit-tests the rule.)
    let starting_key = if backend == Backend::ZooKeeper {
        let direct = direct_client(&qa_connect).await;
        let data = json!({
            "serviceEndpoint": {"host": "127.0.0.1", "port": unlistened},
            "additionalEndpoints": {},
            "status": "STARTING",
        });
        let options = zookeeper_client::CreateMode::PersistentSequential
            .with_acls(zookeeper_client::Acls::anyone_all());
        let (_, sequence) = direct
            .create(
                "/soa/services/web/member_",
                data.to_string().as_bytes(),
                &options,
            )
            .await
            .expect("a foreign STARTING member");
        Some(format!("member_{sequence}"))
    } else {
        None
    };
    // yz is not checked: its member on a closed port stays ALIVE.
    let yz = [("key", KEY), ("zkidc", "yz"), ("destName", "web")];
    assert_eq!(app.call("/addservice/", &yz).await.body["code"], 1);
    let port = unlistened.to_string();
    let mut params = yz.to_vec();
    params.extend([("serverHost", "127.0.0.1"), ("serverPort", port.as_str())]);
    let added = app.call("/addserver/", &params).await;
    let yz_key = added.body["key"]
        .as_str()
        .expect("yz member key")
        .to_string();

    // The closed port goes DEAD; the open one stays ALIVE.
    wait_for_status(&app, "qa", "web", &closed_key, "DEAD").await;
    assert_eq!(status_of(&app, "qa", "web", &open_key).await, "ALIVE");
    // Closing the listener kills the first; opening the second's port revives it.
    drop(listener);
    wait_for_status(&app, "qa", "web", &open_key, "DEAD").await;
    let revived = TcpListener::bind(("127.0.0.1", closed)).expect("listen on the closed port");
    wait_for_status(&app, "qa", "web", &closed_key, "ALIVE").await;
    drop(revived);

    assert_eq!(status_of(&app, "yz", "web", &yz_key).await, "ALIVE");
    if let Some(key) = starting_key {
        assert_eq!(status_of(&app, "qa", "web", &key).await, "STARTING");
    }
    let text = metrics_text(&app).await;
    let qa = labels("qa", backend);
    assert_eq!(
        metric(&text, &format!("dcp_soa_health_enabled{{{qa}}}")),
        Some(1)
    );
    assert!(
        metric(
            &text,
            &format!("dcp_soa_health_flips_total{{{qa},to=\"DEAD\"}}")
        ) >= Some(2)
    );
    assert!(
        metric(
            &text,
            &format!("dcp_soa_health_flips_total{{{qa},to=\"ALIVE\"}}")
        ) >= Some(1)
    );
    let yz_labels = labels("yz", backend);
    assert_eq!(
        metric(
            &text,
            &format!("dcp_soa_health_checks_total{{{yz_labels}}}")
        ),
        Some(0)
    );
}

async fn services_are_listed_across_zkidcs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.client.add_service("b.http").await.expect("add");
    app.client.add_service("a.http").await.expect("add");
    let added = app
        .call(
            "/addservice/",
            &[("key", KEY), ("zkidc", "yz"), ("destName", "c.http")],
        )
        .await;
    assert_eq!(added.body["code"], 1);

    let reply = app.call("/servicelist_all/", &[("key", KEY)]).await;
    assert_eq!(reply.status.as_u16(), 200);
    assert_eq!(
        reply.body,
        json!({"code": 1, "zkidcs": [
            {"zkidc": "qa", "code": 1, "services": [{"service": "a.http"}, {"service": "b.http"}]},
            {"zkidc": "yz", "code": 1, "services": [{"service": "c.http"}]},
        ]})
    );
    // A key valid for qa only sees qa; the seed's `keys` spelling and no slash work too.
    let reply = app.call("/servicelist_all", &[("keys", QA_KEY)]).await;
    let zkidcs: Vec<&str> = reply.body["zkidcs"]
        .as_array()
        .expect("zkidcs")
        .iter()
        .filter_map(|z| z["zkidc"].as_str())
        .collect();
    assert_eq!(zkidcs, ["qa"]);
    // Refusals are the usual envelope.
    assert_failure(
        &app.call("/servicelist_all/", &[]).await,
        403,
        "missing parameter `key`",
    );
    assert_failure(
        &app.call("/servicelist_all/", &[("key", "nope")]).await,
        403,
        "invalid key",
    );
    assert_failure(
        &app.call("/servicelist_all/", &[("key", KEY), ("zkidc", "qa")])
            .await,
        400,
        "unknown parameter",
    );
}

/// A zkidc whose ZooKeeper is down: its own failure in the listing, its own figures in the
/// metrics, and the other zkidc unaffected.
#[actix_web::test]
async fn an_unavailable_zkidc_is_reported_not_fatal() {
    let zkidcs: BTreeMap<String, String> = [
        ("qa".to_string(), EMBEDDED.to_string()),
        ("down".to_string(), format!("127.0.0.1:{}", free_port())),
    ]
    .into_iter()
    .collect();
    let app = TestApp::spawn_unready(zkidcs, |_| {}).await;
    app.client.add_service("up.http").await.expect("qa answers");

    let started = Instant::now();
    let reply = app.call("/servicelist_all/", &[("key", KEY)]).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["code"], 1);
    let entries = reply.body["zkidcs"].as_array().expect("zkidcs");
    assert_eq!(entries.len(), 2, "{}", reply.body);
    assert_eq!(entries[0]["zkidc"], "down");
    assert_eq!(entries[0]["code"], 0);
    assert!(entries[0].get("services").is_none(), "{}", entries[0]);
    let reason = entries[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("ZooKeeper unavailable"), "{reason}");
    assert_eq!(
        entries[1],
        json!({"zkidc": "qa", "code": 1, "services": [{"service": "up.http"}]})
    );

    let text = metrics_text(&app).await;
    let down = "service=\"soa-registry\",zkidc=\"down\",store=\"zookeeper\"";
    assert_eq!(
        metric(&text, &format!("dcp_soa_session_connected{{{down}}}")),
        Some(0)
    );
    assert!(
        metric(
            &text,
            &format!("dcp_soa_store_errors_total{{{down},kind=\"unavailable\"}}")
        ) >= Some(1),
        "{text}"
    );
    // Unknown is absent, not zero.
    assert_eq!(metric(&text, &format!("dcp_soa_members{{{down}}}")), None);
    let qa = "service=\"soa-registry\",zkidc=\"qa\",store=\"embedded\"";
    assert_eq!(metric(&text, &format!("dcp_soa_services{{{qa}}}")), Some(1));
    assert_eq!(
        metric(&text, &format!("dcp_soa_session_connected{{{qa}}}")),
        Some(1)
    );
}

async fn metrics_count_per_zkidc(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    c.add_service("m.http").await.expect("add");
    c.add_service("n.http").await.expect("add");
    c.add_server("m.http", "10.0.0.1", 80).await.expect("add");
    c.add_server("m.http", "10.0.0.2", 80).await.expect("add");
    c.add_server("n.http", "10.0.0.3", 80).await.expect("add");
    // Listed twice: the second answer comes from the listing cache. (On ZooKeeper the second
    // addserver to m.http already read the first member's data from the watched view.)
    c.server_list("m.http").await.expect("list");
    c.server_list("m.http").await.expect("list");

    let text = metrics_text(&app).await;
    let qa = labels("qa", backend);
    let yz = labels("yz", backend);
    assert_eq!(metric(&text, &format!("dcp_soa_services{{{qa}}}")), Some(2));
    assert_eq!(metric(&text, &format!("dcp_soa_members{{{qa}}}")), Some(3));
    assert_eq!(metric(&text, &format!("dcp_soa_services{{{yz}}}")), Some(0));
    assert_eq!(metric(&text, &format!("dcp_soa_members{{{yz}}}")), Some(0));
    assert_eq!(
        metric(&text, &format!("dcp_soa_session_connected{{{qa}}}")),
        Some(1)
    );
    assert!(metric(&text, &format!("dcp_soa_store_operations_total{{{qa}}}")) >= Some(5));
    assert_eq!(
        metric(
            &text,
            &format!("dcp_soa_store_errors_total{{{qa},kind=\"unavailable\"}}")
        ),
        Some(0)
    );
    assert_eq!(
        metric(
            &text,
            &format!("dcp_soa_store_errors_total{{{qa},kind=\"other\"}}")
        ),
        Some(0)
    );
    assert_eq!(
        metric(&text, &format!("dcp_soa_health_enabled{{{qa}}}")),
        Some(0)
    );
    assert!(metric(&text, &format!("dcp_soa_sessions_total{{{qa}}}")) >= Some(1));
    let hits = metric(&text, &format!("dcp_soa_view_hits_total{{{qa}}}"));
    match backend {
        Backend::ZooKeeper => assert!(hits > Some(0), "{hits:?}"),
        Backend::Embedded => assert_eq!(hits, Some(0)),
    }
    // The HTTP metrics of the kit are still there, before ours.
    assert!(text.contains("dcp_http_requests_total{"), "{text}");
    assert!(text.contains("# TYPE dcp_soa_members gauge"), "{text}");
}

/// Every write is logged with the verified subject as its actor: the key's owner for the
/// seed's keys, the token's subject for bearer tokens (a person's, a peer service's), and the
/// person with the relaying service as `via` when a service acts for them.
async fn writes_are_logged_with_the_verified_subject(backend: Backend) {
    let logs = captured_logs();
    let app = TestApp::spawn(backend).await;
    let service = format!("logged-{}", uuid::Uuid::new_v4().simple());
    let call = |path: &'static str, key: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let service = service.clone();
        let app = &app;
        async move {
            let mut params = vec![
                ("key", key),
                ("zkidc", "qa"),
                ("destName", service.as_str()),
            ];
            params.extend(extra);
            let reply = app.call(path, &params).await;
            assert_eq!(reply.body["code"], 1, "{path}: {}", reply.body);
            reply
        }
    };
    call("/addservice/", KEY, vec![]).await;
    call(
        "/addserver/",
        QA_KEY,
        vec![("serverHost", "10.0.0.1"), ("serverPort", "80")],
    )
    .await;
    let added = call(
        "/addserver/",
        KEY,
        vec![("serverHost", "10.0.0.2"), ("serverPort", "80")],
    )
    .await;
    let key = added.body["key"].as_str().expect("member key").to_string();
    let key: &'static str = Box::leak(key.into_boxed_str());
    call("/delserver/", QA_KEY, vec![("serverKey", key)]).await;
    // A read is not a write: it logs nothing of the kind.
    call("/serverlist/", KEY, vec![]).await;
    // Bearer tokens: a person, a peer service, and the service acting for a person. A key sent
    // beside a token is ignored: the token's subject is the actor.
    let operator = app.token_client("olga", &[Role::Operator]).with_key(KEY);
    operator
        .add_server(&service, "10.0.0.3", 80)
        .await
        .expect("an operator adds a server");
    let peer = app.token_client(QA_SERVICE, &[Role::Service]);
    peer.add_server(&service, "10.0.0.4", 80)
        .await
        .expect("the service adds a server on its zkidc");
    let relayed = peer.on_behalf_of(SecretString::from(
        kit::testing::issuer::issuer().token("petra", &[Role::Operator]),
    ));
    relayed
        .add_server(&service, "10.0.0.5", 80)
        .await
        .expect("the service adds a server for petra");
    call("/delservice/", KEY, vec![("force", "1")]).await;

    let text = {
        let bytes = logs.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).to_string()
    };
    let writes: Vec<(String, String, String, String)> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["service"] == service.as_str())
        .map(|event| {
            let field = |name: &str| event[name].as_str().unwrap_or_default().to_string();
            (
                field("message"),
                field("actor"),
                field("via"),
                field("zkidc"),
            )
        })
        .collect();
    let expected: Vec<(String, String, String, String)> = [
        ("addservice", OWNER, ""),
        ("addserver", QA_OWNER, ""),
        ("addserver", OWNER, ""),
        ("delserver", QA_OWNER, ""),
        ("addserver", "olga", ""),
        ("addserver", QA_SERVICE, ""),
        ("addserver", "petra", QA_SERVICE),
        ("delservice", OWNER, ""),
    ]
    .into_iter()
    .map(|(what, actor, via)| {
        (
            what.to_string(),
            actor.to_string(),
            via.to_string(),
            "qa".to_string(),
        )
    })
    .collect();
    assert_eq!(writes, expected, "log lines of {service}:\n{text}");
}

#[actix_web::test]
async fn openapi_json_is_served() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let spec = kit::testing::openapi_document(app.client.transport().base_url()).await;
    assert_eq!(spec["openapi"], "3.0.3");
    for path in ["/serverlist/", "/servicelist_all/", "/metrics"] {
        assert!(spec["paths"][path].is_object(), "{path} is described");
    }
}

// ---- helpers ----

fn labels(zkidc: &str, backend: Backend) -> String {
    let store = match backend {
        Backend::Embedded => "embedded",
        Backend::ZooKeeper => "zookeeper",
    };
    format!("service=\"soa-registry\",zkidc=\"{zkidc}\",store=\"{store}\"")
}

/// `/metrics`, scraped with a viewer's token (it needs one).
async fn metrics_text(app: &TestApp) -> String {
    let (status, text) = app
        .token_client("scraper", &[Role::Viewer])
        .transport()
        .get_text("/metrics")
        .await
        .expect("/metrics answers");
    assert_eq!(status.as_u16(), 200);
    text
}

/// The value of one series (`name{labels}`), if present.
fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| {
            value
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{series} is not a count: {value}"))
        })
}

/// The log of the whole test binary, as JSON lines: a global subscriber, because the service's
/// handlers run on its worker threads, where a thread-local one would see nothing. Installed
/// once; every test that reads it picks its own lines (by a unique service name).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter(EnvFilter::new("soa_registry=info"))
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
