//! Database fault drills on a private MariaDB: the HTTP drills of kit::testing::drills, and a
//! 50-node task whose database is killed and restarted while its nodes run: the task finishes,
//! and no step that finished runs again.

use std::path::Path;
use std::time::{Duration, Instant};

use client::{ClientError, TaskEngineClient};
use kit::testing::drills::{run_database_drills, DrillTarget};
use kit::testing::mariadb::PrivateMariaDb;
use kit::testing::Served;
use serde_json::json;
use wire::task_engine as w;

use crate::support::shell_step;

const DEADLINE: Duration = Duration::from_millis(1_000);

struct Engine {
    client: TaskEngineClient,
    server: Served,
    _ssh_dir: tempfile::TempDir,
}

async fn engine(database: &PrivateMariaDb, concurrency: usize) -> Engine {
    let ssh_dir = tempfile::tempdir().expect("a temp folder for ssh");
    let mut db = database.config("te_drill");
    db.request_deadline_ms = DEADLINE.as_millis() as u64;
    let config = testpeers::task_engine_config(&db, ssh_dir.path(), concurrency);
    let (server, client) = testpeers::serve_task_engine(config).await;
    Engine {
        client,
        server,
        _ssh_dir: ssh_dir,
    }
}

/// The HTTP status of an answer (200 for a success).
fn status<T>(answer: Result<T, ClientError>) -> u16 {
    match answer {
        Ok(_) => 200,
        Err(ClientError::Api { status, .. }) => status,
        Err(e) => panic!("the task-engine did not answer: {e}"),
    }
}

fn name(n: u32) -> String {
    format!("drill-{n}")
}

impl DrillTarget for Engine {
    fn url(&self) -> String {
        self.server.url.clone()
    }

    async fn write(&self, n: u32) -> u16 {
        status(
            self.client
                .create_action(&w::ActionRequest {
                    name: Some(name(n)),
                    desc: None,
                    params: None,
                })
                .await,
        )
    }

    async fn read(&self) -> u16 {
        status(self.client.actions(1, 5).await)
    }

    async fn stored(&self, n: u32) -> bool {
        let actions = self
            .client
            .actions(1, 1000)
            .await
            .expect("actions listed after the drills");
        actions.data.iter().any(|a| a.name == name(n))
    }
}

#[actix_web::test]
async fn database_drills() {
    let mut database = PrivateMariaDb::start();
    let target = engine(&database, 4).await;
    for report in run_database_drills(&mut database, &target, DEADLINE).await {
        eprintln!("{}", report.row("task-engine"));
    }
}

/// How many times each of `ips` appears in the side-effect file at `path`.
fn runs(path: &Path, ips: &[String]) -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    ips.iter()
        .map(|ip| (ip.clone(), text.lines().filter(|l| l == ip).count()))
        .collect()
}

#[actix_web::test]
async fn a_50_node_task_survives_a_database_restart_without_running_a_finished_step_twice() {
    let mut database = PrivateMariaDb::start();
    let engine = engine(&database, 25).await;
    let c = &engine.client;
    let files = tempfile::tempdir().expect("a temp folder");
    let (firsts, lasts) = (files.path().join("first"), files.path().join("last"));
    shell_step(
        c,
        "first",
        format!("echo {{{{ip}}}} >> {}", firsts.display()),
    )
    .await;
    shell_step(c, "slow", "sleep 2".into()).await;
    shell_step(c, "last", format!("echo {{{{ip}}}} >> {}", lasts.display())).await;
    let steps = ["first", "slow", "last"]
        .iter()
        .map(|name| w::TemplateStep {
            name: name.to_string(),
            param_values: Default::default(),
            retry: w::Retry::default(),
        })
        .collect();
    let template = c
        .create_template(&w::TemplateRequest {
            name: Some("fifty".into()),
            desc: None,
            steps: Some(steps),
        })
        .await
        .expect("template");
    let ips: Vec<String> = (2..52).map(|i| format!("127.0.0.{i}")).collect();
    let id = c
        .create_task(&w::TaskRequest {
            template_id: template,
            task_name: "fifty".into(),
            opr_user: "tester".into(),
            nodes: ips.iter().map(|ip| json!({ "ip": ip })).collect(),
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

    // Once some nodes are inside `slow` (and so past `first`), the database dies; it comes
    // back while nodes finish steps whose results cannot be recorded yet.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let nodes = c.task_detail(id).await.expect("detail");
        if nodes.iter().filter(|n| n.step >= 1).count() >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "no node reached `slow`");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    database.kill();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    database.launch();

    let deadline = Instant::now() + Duration::from_secs(120);
    let task = loop {
        // Reads may meet the circuit for a moment after the restart; only the end counts.
        if let Ok(task) = c.task(id).await {
            if task.status != w::STATE_RUNNING && task.status != w::STATE_INIT {
                break task;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the task did not finish within 120 s of the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(task.status, w::STATE_SUCCESS, "{:?}", task.stat);
    for (step, path) in [("first", &firsts), ("last", &lasts)] {
        for (ip, count) in runs(path, &ips) {
            assert_eq!(count, 1, "step `{step}` ran {count} time(s) on {ip}");
        }
    }
    for node in c.task_detail(id).await.expect("detail") {
        assert_eq!(
            serde_json::Value::Object(node.steps),
            json!({"first": "success", "slow": "success", "last": "success"})
        );
    }
}
