//! The limits every service meets, each service as its own process spoken to over raw TCP:
//! a method a route does not answer (405 with `Allow`), an oversize body (413), an overlong
//! target (414), a body that never finishes (408, then the connection closes), headers that
//! never finish (the connection closes), and a write sent for another site's page (403) —
//! each refusal in the service's own JSON envelope. The database plays no part in these, so
//! the services run on SQLite.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use dcp_e2e::{start_service, Service};
use serde_json::Value;

/// The body and header deadlines the services are started with, in seconds.
const BODY_TIMEOUT: u64 = 2;
const HEADER_TIMEOUT: u64 = 2;
/// How long past a deadline the test waits before it calls the connection held open.
const GRACE: Duration = Duration::from_secs(5);

/// A service and one of its write routes, answered by POST alone.
struct Case {
    name: &'static str,
    write: &'static str,
}

const CASES: [Case; 6] = [
    Case {
        name: "resource-pool",
        write: "/api/add_server",
    },
    Case {
        name: "cmdb",
        write: "/api/v0.1/users",
    },
    Case {
        name: "soa-registry",
        write: "/addservice/",
    },
    Case {
        name: "cloud-portal",
        write: "/api/login",
    },
    Case {
        name: "task-engine",
        write: "/action/create",
    },
    Case {
        name: "orchestrator",
        write: "/cluster/create",
    },
];

fn config(dir: &Path, name: &str, extra: &str) -> String {
    // Every service trusts the test issuer (the limits come before any token is looked at).
    let auth = kit::testing::issuer::issuer().auth_config();
    format!(
        "[http]\nbind = \"127.0.0.1:0\"\nworkers = 1\nshutdown_timeout_secs = 1\n\
         body_timeout_secs = {BODY_TIMEOUT}\nheader_timeout_secs = {HEADER_TIMEOUT}\n\n\
         [database]\nurl = \"sqlite://{}\"\n\n\
         [auth]\nissuer = \"{}\"\naudience = \"{}\"\njwks_url = \"{}\"\n\n{extra}",
        dir.join(format!("{name}.db")).display(),
        auth.issuer,
        auth.audience,
        auth.jwks_url,
    )
}

fn extra(name: &str, dir: &Path, task_engine: Option<&Service>) -> String {
    match name {
        "cmdb" => format!(
            "[api_keys]\nadmin_key = \"limits-key\"\nadmin_secret = \"limits-secret\"\n\
             credentials_file = \"{}\"\n",
            dir.join("cmdb-admin.json").display()
        ),
        "soa-registry" => format!("[store]\ndata_dir = \"{}\"\n", dir.join("soa").display()),
        "cloud-portal" => {
            "[admin]\nusername = \"admin\"\npassword = \"Limits-Password-1\"\n\n[demo]\nenabled = false\n"
                .to_string()
        }
        "orchestrator" => format!(
            "[task_engine]\nurl = \"{}\"\n",
            task_engine.map(|s| s.url.as_str()).unwrap_or_default()
        ),
        _ => String::new(),
    }
}

/// What came back on a raw connection: the status, the headers, the body, and whether the
/// server closed the connection afterwards.
struct Answer {
    status: u16,
    head: String,
    body: String,
    closed: bool,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    /// The body as the service's JSON envelope: an object that names the problem.
    fn envelope(&self, what: &str) -> Value {
        let value: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {:?}", self.body));
        assert!(value.is_object(), "{what}: {value}");
        value
    }
}

fn connect(url: &str) -> TcpStream {
    let address = url.trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(
            Duration::from_secs(BODY_TIMEOUT.max(HEADER_TIMEOUT)) + GRACE,
        ))
        .expect("read timeout");
    stream
}

/// Sends `bytes` and reads until the server closes or the read times out.
/// Sends `bytes` as they are, but for an admin's access token added before `Host` (the limits
/// are what is tested, not who may pass).
fn exchange(url: &str, bytes: &[u8]) -> Answer {
    let mut stream = connect(url);
    stream.write_all(&with_token(bytes)).expect("send");
    read_answer(&mut stream)
}

fn with_token(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let token = kit::testing::issuer::issuer().token("limits", &[kit::auth::Role::Admin]);
    text.replacen(
        "\r\nHost: ",
        &format!("\r\nAuthorization: Bearer {token}\r\nHost: "),
        1,
    )
    .into_bytes()
}

fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let mut closed = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => {
                received.extend_from_slice(&buf[..n]);
                if complete(&received) && !wants_close(&received) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
        closed,
    }
}

/// Whether a whole response (head and a `Content-Length` body) has arrived.
fn complete(received: &[u8]) -> bool {
    let text = String::from_utf8_lossy(received);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    body.len() >= length
}

fn wants_close(received: &[u8]) -> bool {
    String::from_utf8_lossy(received)
        .to_ascii_lowercase()
        .contains("connection: close")
}

fn host(url: &str) -> &str {
    url.trim_start_matches("http://")
}

fn check_service(service: &Service, case: &Case) {
    let url = &service.url;
    let name = case.name;
    let write = case.write;

    // A write does not answer GET; the 405 says what it does answer.
    let answer = exchange(
        url,
        format!(
            "GET {write} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(url)
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 405, "{name} GET {write}: {}", answer.head);
    assert_eq!(answer.header("allow").as_deref(), Some("POST"), "{name}");
    let body = answer.envelope(name).to_string();
    assert!(body.contains("not allowed"), "{name}: {body}");

    // A body over the limit is refused from its length, before it is read.
    let answer = exchange(
        url,
        format!(
            "POST {write} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: 2000000\r\n\r\n{{",
            host(url)
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 413, "{name}: {}", answer.head);
    assert!(
        answer.envelope(name).to_string().contains("1048576 bytes"),
        "{name}: {}",
        answer.body
    );

    // So is a chunked body that grows past it.
    let mut stream = connect(url);
    let head = format!(
        "POST {write} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        host(url)
    );
    stream
        .write_all(&with_token(head.as_bytes()))
        .expect("send");
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..20 {
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        if stream.write_all(&frame).is_err() {
            break;
        }
    }
    let answer = read_answer(&mut stream);
    assert_eq!(answer.status, 413, "{name} chunked: {}", answer.head);

    // An overlong target.
    let long = "a".repeat(9000);
    let answer = exchange(
        url,
        format!(
            "GET /{long} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(url)
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 414, "{name}: {}", answer.head);
    assert!(
        answer.envelope(name).to_string().contains("8192 bytes"),
        "{name}: {}",
        answer.body
    );

    // A body that stops arriving: 408 once the deadline passes, and the connection closes.
    let started = Instant::now();
    let answer = exchange(
        url,
        format!(
            "POST {write} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"a\":",
            host(url)
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 408, "{name} slow body: {}", answer.head);
    assert!(answer.closed, "{name}: the connection stays open after 408");
    assert!(
        started.elapsed() < Duration::from_secs(BODY_TIMEOUT) + GRACE,
        "{name}: the slow body was held {:?}",
        started.elapsed()
    );
    answer.envelope(name);

    // Headers that stop arriving: the connection closes.
    let started = Instant::now();
    let answer = exchange(url, format!("POST {write} HTTP/1.1\r\nHost: ").as_bytes());
    assert!(
        answer.closed,
        "{name}: unfinished headers hold the connection"
    );
    assert!(
        started.elapsed() < Duration::from_secs(HEADER_TIMEOUT) + GRACE,
        "{name}: unfinished headers were held {:?}",
        started.elapsed()
    );

    // A write sent for another site's page.
    for browser_header in ["Origin: http://evil.example", "Sec-Fetch-Site: cross-site"] {
        let answer = exchange(
            url,
            format!(
                "POST {write} HTTP/1.1\r\nHost: {}\r\n{browser_header}\r\n\
                 Content-Type: application/json\r\nContent-Length: 2\r\n\
                 Connection: close\r\n\r\n{{}}",
                host(url)
            )
            .as_bytes(),
        );
        assert_eq!(
            answer.status, 403,
            "{name} {browser_header}: {}",
            answer.head
        );
        assert!(
            answer.envelope(name).to_string().contains("cross-site"),
            "{name}: {}",
            answer.body
        );
    }
    // The same write from the service's own origin goes through to the handler.
    let answer = exchange(
        url,
        format!(
            "POST {write} HTTP/1.1\r\nHost: {0}\r\nOrigin: http://{0}\r\n\
             Sec-Fetch-Site: same-origin\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{{}}",
            host(url)
        )
        .as_bytes(),
    );
    assert!(
        answer.status != 0 && answer.status < 500 && !answer.body.contains("cross-site"),
        "{name} same origin: {} {}",
        answer.head,
        answer.body
    );
}

#[test]
fn every_service_refuses_what_is_beyond_its_limits_in_its_own_envelope() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut started: Vec<Service> = Vec::new();
    for case in &CASES {
        let engine = started.iter().find(|s| s.name == "task-engine");
        let extra = extra(case.name, dir.path(), engine);
        let config = config(dir.path(), case.name, &extra);
        started.push(start_service(dir.path(), case.name, &config));
    }
    // The deadlines are waited out on every service at once.
    std::thread::scope(|scope| {
        for (service, case) in started.iter().zip(CASES.iter()) {
            scope.spawn(move || check_service(service, case));
        }
    });

    // The front door passes the task-engine's 405 on with its `Allow`, and refuses a
    // cross-site request to a forwarded route itself (the task-engine never sees the Origin).
    let orchestrator = started
        .iter()
        .find(|s| s.name == "orchestrator")
        .expect("the orchestrator");
    let url = &orchestrator.url;
    let answer = exchange(
        url,
        format!(
            "GET /task/create HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            host(url)
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 405, "forwarded: {}", answer.head);
    assert_eq!(answer.header("allow").as_deref(), Some("POST"));
    let answer = exchange(
        url,
        format!(
            "POST /task/create HTTP/1.1\r\nHost: {}\r\nOrigin: http://evil.example\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{{}}",
            host(url)
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 403, "forwarded cross-site: {}", answer.head);

    // Control characters in names, and a parameter given twice, are refused by name.
    let engine = started
        .iter()
        .find(|s| s.name == "task-engine")
        .expect("the task-engine");
    for (service, path, body, field) in [
        (
            orchestrator,
            "/cluster/create",
            r#"{"name":"a\u001b[2Jb"}"#,
            "`name`",
        ),
        (
            orchestrator,
            "/cluster/create",
            r#"{"name":"two\nlines"}"#,
            "`name`",
        ),
        (
            engine,
            "/action/create",
            r#"{"name":"nul\u0000","args":"x"}"#,
            "`name`",
        ),
    ] {
        let answer = exchange(
            &service.url,
            format!(
                "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                host(&service.url),
                body.len()
            )
            .as_bytes(),
        );
        assert_eq!(answer.status, 400, "{path} {body}: {}", answer.head);
        let message = answer.envelope(path)["msg"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains(field) && message.contains("control character"),
            "{message}"
        );
    }
    let answer = exchange(
        &engine.url,
        format!(
            "POST /task/stop?id=1&id=2 HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            host(&engine.url)
        )
        .as_bytes(),
    );
    assert_eq!(answer.status, 400, "repeated id: {}", answer.head);
    assert!(
        answer.body.contains("given more than once"),
        "{}",
        answer.body
    );
}
