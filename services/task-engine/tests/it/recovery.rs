//! Crash recovery with real processes: the task-engine binary is killed with SIGKILL in the
//! middle of a task, a second one on the same database takes the task over when the first
//! one's lease expires, and finishes it without running a finished step twice.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use client::{ClientConfig, TaskEngineClient};
use kit::auth::Role;
use kit::testing::issuer::issuer;
use kit::testing::{TestBackend, TestDatabase};
use serde_json::{json, Value};
use wire::task_engine as w;

use crate::sshd;
use crate::support::{object, shell_step};

kit::on_both_backends!(a_task_survives_the_sigkill_of_its_engine);

/// MariaDB only: SQLite is one process's file (its single writer and the engine's in-process
/// write queue), so two engines on one database are a MySQL/MariaDB setup.
#[actix_web::test]
async fn two_engines_on_one_mariadb_run_each_task_once_and_one_takes_over_the_other() {
    two_engines_share_one_database(TestBackend::Mysql).await
}

/// The service binary as a child process.
struct Engine {
    child: Child,
    client: TaskEngineClient,
}

impl Engine {
    async fn launch(db: &TestDatabase, dir: &Path, name: &str) -> Engine {
        let ssh = sshd::ssh_config(sshd::shared(), dir);
        let auth = issuer().auth_config();
        let port = sshd::free_port();
        let log = std::fs::File::create(dir.join(format!("{name}.log"))).expect("engine log");
        let child = Command::new(env!("CARGO_BIN_EXE_task-engine"))
            .env("DCP_HTTP__BIND", format!("127.0.0.1:{port}"))
            .env("DCP_DATABASE__URL", &db.config.url)
            .env("DCP_SSH__USER", &ssh.user)
            .env("DCP_SSH__KEY", &ssh.key)
            .env("DCP_SSH__PORT", ssh.port.to_string())
            .env("DCP_SSH__KNOWN_HOSTS", &ssh.known_hosts)
            .env("DCP_SSH__CONTROL_DIR", &ssh.control_dir)
            .env("DCP_RUN__LEASE_SECS", "2")
            .env("DCP_RUN__RETRY_PAUSE_MS", "50")
            .env("DCP_AUTH__ISSUER", &auth.issuer)
            .env("DCP_AUTH__AUDIENCE", &auth.audience)
            .env("DCP_AUTH__JWKS_URL", &auth.jwks_url)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("engine log"))
            .stderr(log)
            .spawn()
            .expect("the task-engine binary starts");
        let client = TaskEngineClient::new(
            ClientConfig::new(&format!("http://127.0.0.1:{port}"))
                .with_token(issuer().token("tester", &[Role::Admin])),
        )
        .expect("client builds");
        let mut engine = Engine { child, client };
        let deadline = Instant::now() + Duration::from_secs(30);
        while engine.client.tasks(1, 1).await.is_err() {
            if let Ok(Some(status)) = engine.child.try_wait() {
                panic!(
                    "task-engine `{name}` exited ({status}): {}",
                    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "task-engine `{name}` does not answer"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        engine
    }

    fn kill(&mut self) {
        // std's kill is SIGKILL.
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A template `name` of these steps, each with no parameters and no retries.
async fn template(client: &TaskEngineClient, name: &str, steps: &[&str]) -> i64 {
    let steps = steps
        .iter()
        .map(|name| w::TemplateStep {
            name: name.to_string(),
            param_values: Default::default(),
            retry: w::Retry::default(),
        })
        .collect();
    client
        .create_template(&w::TemplateRequest {
            name: Some(name.into()),
            desc: None,
            steps: Some(steps),
        })
        .await
        .expect("template")
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

async fn a_task_survives_the_sigkill_of_its_engine(backend: TestBackend) {
    let db = TestDatabase::create(backend, "te_crash");
    let dir = tempfile::tempdir().expect("a temp folder");
    let files = dir.path();
    let mut first = Engine::launch(&db, files, "first").await;
    let c = &first.client;
    let (counter, done) = (files.join("first-runs"), files.join("last-runs"));
    shell_step(
        c,
        "first",
        format!("echo {{{{ip}}}} >> {}", counter.display()),
    )
    .await;
    shell_step(c, "slow", "sleep 4".into()).await;
    shell_step(c, "last", format!("echo {{{{ip}}}} >> {}", done.display())).await;
    let tpl = template(c, "crash", &["first", "slow", "last"]).await;
    let id = c
        .create_task(&w::TaskRequest {
            template_id: tpl,
            task_name: "crash".into(),
            opr_user: "tester".into(),
            nodes: vec![json!({"ip": "127.0.0.2"}), json!({"ip": "127.0.0.3"})],
            params: None,
            pool_name: None,
            max_num: None,
            max_ratio: None,
            timeout: None,
            auto: Some(true),
            notify_url: None,
            cluster_id: None,
        })
        .await
        .expect("task");

    // Wait until both nodes are past `first` (so inside `slow`), then SIGKILL the engine.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let nodes = c.task_detail(id).await.expect("detail");
        if nodes.iter().all(|n| n.step == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "nodes never reached `slow`");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill();

    let second = Engine::launch(&db, files, "second").await;
    let c = &second.client;
    assert_eq!(c.task(id).await.expect("task").status, w::STATE_RUNNING);
    let deadline = Instant::now() + Duration::from_secs(20);
    let task = loop {
        let task = c.task(id).await.expect("task");
        if task.status != w::STATE_RUNNING {
            break task;
        }
        if Instant::now() > deadline {
            let log = c.task_log(id).await.expect("log");
            let text: Vec<&str> = log.iter().map(|r| r.message.as_str()).collect();
            panic!(
                "the task was not finished after the crash: {text:#?}\n{}",
                std::fs::read_to_string(files.join("second.log"))
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| !l.contains("\"served\""))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(task.status, w::STATE_SUCCESS, "{:?}", task.stat);
    assert_eq!(lines(&counter), 2, "`first` is not run again");
    assert_eq!(lines(&done), 2);
    let log = c.task_log(id).await.expect("log");
    let text: Vec<&str> = log.iter().map(|r| r.message.as_str()).collect();
    assert!(
        text.iter()
            .any(|m| m.starts_with("task taken over by engine")),
        "{text:?}"
    );
    for node in c.task_detail(id).await.expect("detail") {
        assert_eq!(
            Value::Object(node.steps),
            json!({"first": "success", "slow": "success", "last": "success"})
        );
        let rows = c.node_log(node.id).await.expect("node log");
        let first_runs = rows
            .iter()
            .filter(|r| r.message.contains("`first` attempt"))
            .count();
        assert_eq!(first_runs, 1);
    }
}

/// The lines of a per-node side-effect file that equal `word`.
fn lines_of(path: &Path, word: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == word)
        .count()
}

async fn two_engines_share_one_database(backend: TestBackend) {
    let db = TestDatabase::create(backend, "te_two");
    let dir = tempfile::tempdir().expect("a temp folder");
    let files = dir.path();
    let mut a = Engine::launch(&db, files, "a").await;
    let b = Engine::launch(&db, files, "b").await;
    // Each step appends its name to a file per task and node, through ssh.
    let file = format!("{}/{{{{tag}}}}-{{{{ip}}}}", files.display());
    shell_step(&a.client, "one", format!("echo one >> {file}")).await;
    // Long enough that every node is still inside `two` when the last one reaches it, however
    // loaded the machine (14 nodes start one after another).
    shell_step(&a.client, "two", format!("echo two >> {file}; sleep 10")).await;
    shell_step(&a.client, "three", format!("echo three >> {file}")).await;
    let tpl = template(&b.client, "two", &["one", "two", "three"]).await;
    let hosts = ["127.0.0.2", "127.0.0.3"];
    let mut ids = Vec::new();
    for i in 0..7 {
        let id = a
            .client
            .create_task(&w::TaskRequest {
                template_id: tpl,
                task_name: format!("t{i}"),
                opr_user: "tester".into(),
                nodes: hosts.iter().map(|ip| json!({ "ip": ip })).collect(),
                params: Some(object(json!({ "tag": format!("t{i}") }))),
                pool_name: None,
                max_num: None,
                max_ratio: None,
                timeout: None,
                auto: Some(false),
                notify_url: None,
                cluster_id: None,
            })
            .await
            .expect("task");
        ids.push(id);
    }
    // Tasks 0, 2, 4 are started on `a`, 1, 3, 5 on `b`; the other engine's start is refused.
    for (i, &id) in ids[..6].iter().enumerate() {
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        first.client.start_task(id).await.expect("started");
        let err = second.client.start_task(id).await.expect_err("one runner");
        assert!(err.to_string().contains("is RUNNING"), "{err}");
    }
    // Task 6 is started on both at the same moment: exactly one start wins.
    let (ra, rb) = tokio::join!(a.client.start_task(ids[6]), b.client.start_task(ids[6]));
    assert!(ra.is_ok() != rb.is_ok(), "{ra:?} {rb:?}");
    let a_owns_6 = ra.is_ok();

    // Every node inside `two` (its `echo` done, up to 10 s of sleep left): SIGKILL `a`; `b` takes
    // its tasks over.
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 0..ids.len() {
        for ip in hosts {
            let path = files.join(format!("t{i}-{ip}"));
            while lines_of(&path, "two") == 0 {
                assert!(
                    Instant::now() < deadline,
                    "task {i} node {ip} never reached `two`"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    a.kill();
    let deadline = Instant::now() + Duration::from_secs(60);
    for &id in &ids {
        loop {
            let task = b.client.task(id).await.expect("task");
            if task.status != w::STATE_RUNNING {
                assert_eq!(task.status, w::STATE_SUCCESS, "task {id}: {:?}", task.stat);
                break;
            }
            assert!(Instant::now() < deadline, "task {id} never finished");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for (i, &id) in ids.iter().enumerate() {
        let ran_on_a = if i == 6 { a_owns_6 } else { i % 2 == 0 };
        let log = b.client.task_log(id).await.expect("log");
        let text: Vec<&str> = log.iter().map(|r| r.message.as_str()).collect();
        let taken = text
            .iter()
            .filter(|m| m.starts_with("task taken over by engine"))
            .count();
        assert_eq!(taken, usize::from(ran_on_a), "task {i}: {text:#?}");
        assert_eq!(
            text.iter()
                .filter(|m| m.starts_with("task started"))
                .count(),
            1,
            "task {i}: {text:#?}"
        );
        for ip in hosts {
            let path = files.join(format!("t{i}-{ip}"));
            // Finished steps ran exactly once, whichever engine ran them.
            assert_eq!(lines_of(&path, "one"), 1, "task {i} node {ip}");
            assert_eq!(lines_of(&path, "three"), 1, "task {i} node {ip}");
            // The step the SIGKILL interrupted runs again on the engine that took over;
            // on `b`'s own tasks it ran once.
            let twice = if ran_on_a { 2 } else { 1 };
            assert_eq!(lines_of(&path, "two"), twice, "task {i} node {ip}");
            for step in ["one", "three"] {
                let ok = text
                    .iter()
                    .filter(|m| m.contains(&format!("`{step}` attempt 1/1 on `{ip}`: ok")))
                    .count();
                assert_eq!(ok, 1, "task {i} node {ip} step {step}");
            }
        }
    }
}
