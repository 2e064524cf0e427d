use client::{ClientError, Encoding, Method, RawReply, TaskEngineClient};
use kit::testing::{Served, TestBackend, TestDatabase};
use serde_json::{json, Map, Value};
use task_engine::Config;
use wire::task_engine as w;

pub struct TestApp {
    pub client: TaskEngineClient,
    _server: Served,
    pub db: TestDatabase,
    /// Known hosts and ControlMaster sockets of this app's ssh.
    _ssh_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> TestApp {
        TestApp::spawn_with(backend, 20).await
    }

    /// The service with at most `concurrency` nodes of a batch at a time; its nodes are the
    /// 127.0.0.x of the shared sshd, retries pause 50 ms.
    pub async fn spawn_with(backend: TestBackend, concurrency: usize) -> TestApp {
        TestApp::spawn_config(backend, concurrency, |_| {}).await
    }

    /// An app whose steps may run real ansible (4 nodes at a time); asserts it is installed.
    pub async fn spawn_with_ansible(backend: TestBackend) -> TestApp {
        assert!(
            task_engine::exec::installed("ansible"),
            "ansible is not installed: pip install -r clients/python/requirements-test.txt (make test does)"
        );
        TestApp::spawn_config(backend, 4, |config| {
            // Discovery would find this machine's pyenv shims, which a plain ssh shell cannot run.
            config.ansible.python_interpreter = "/usr/bin/python3".into();
        })
        .await
    }

    /// As [`TestApp::spawn_with`], with the configuration adjusted by `adjust` (peers, ...).
    pub async fn spawn_config(
        backend: TestBackend,
        concurrency: usize,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let db = TestDatabase::create(backend, "te_it");
        let ssh_dir = tempfile::tempdir().expect("a temp folder for ssh");
        let mut config = testpeers::task_engine_config(&db.config, ssh_dir.path(), concurrency);
        adjust(&mut config);
        let (server, client) = testpeers::serve_task_engine(config).await;
        TestApp {
            client,
            _server: server,
            db,
            _ssh_dir: ssh_dir,
        }
    }

    /// The service's base URL.
    pub fn url(&self) -> &str {
        &self._server.url
    }

    /// A client of this service calling with `token`.
    pub fn client_with(&self, token: String) -> TaskEngineClient {
        TaskEngineClient::new(client::ClientConfig::new(self.url()).with_token(token))
            .expect("client builds")
    }

    /// Waits (up to 60 s) until the task is neither INIT nor RUNNING; returns it.
    pub async fn wait_finished(&self, id: i64) -> w::Task {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let task = self.client.task(id).await.expect("task read");
            if task.status != w::STATE_INIT && task.status != w::STATE_RUNNING {
                return task;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "task {id} still {} after 60 s: {:?}",
                task.status,
                task.stat
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 60 s) until the task is neither INIT, RUNNING nor PAUSED; returns it.
    pub async fn wait_finished_after_pause(&self, id: i64) -> w::Task {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let task = self.client.task(id).await.expect("task read");
            if ![w::STATE_INIT, w::STATE_RUNNING, w::STATE_PAUSED].contains(&task.status) {
                return task;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "task {id} still {} after 60 s",
                task.status
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// POSTs a JSON body to `path` and returns the answer as it came.
    pub async fn post(&self, path: &str, body: Value) -> RawReply {
        self.client
            .call_raw(Method::POST, path, Encoding::Json, &body)
            .await
            .expect("the service answers")
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        encoding: Encoding,
        body: Value,
    ) -> RawReply {
        self.client
            .call_raw(method, path, encoding, &body)
            .await
            .expect("the service answers")
    }

    /// An action `name` with these parameters; returns its id.
    pub async fn action(&self, name: &str, params: Value) -> i64 {
        self.client
            .create_action(&w::ActionRequest {
                name: Some(name.into()),
                desc: Some(format!("{name} desc")),
                params: Some(object(params)),
            })
            .await
            .expect("action created")
    }

    /// An action `name` whose one implementation is `action` (`{"module": ..., ...}`), and a
    /// remote step of the same name running it.
    pub async fn remote(&self, name: &str, action: Value) {
        let id = self.action(name, json!({})).await;
        self.client
            .create_action_impl(&w::ActionImplRequest {
                action_id: Some(id),
                impl_type: Some("ansible".into()),
                template: Some(object(json!({ "action": action }))),
            })
            .await
            .expect("implementation created");
        self.remote_step(name, &[name]).await;
    }

    /// Creates and starts a task; waits for its end.
    pub async fn run(&self, req: &w::TaskRequest) -> (i64, w::Task) {
        let id = self.client.create_task(req).await.expect("task created");
        self.client.start_task(id).await.expect("task started");
        (id, self.wait_finished(id).await)
    }

    /// The messages of a node's log, one a line.
    pub async fn node_log_text(&self, nsid: i64) -> String {
        let rows = self.client.node_log(nsid).await.expect("node log");
        rows.iter()
            .map(|r| r.message.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub async fn remote_step(&self, name: &str, actions: &[&str]) -> i64 {
        self.client
            .create_remote_step(&w::RemoteStepRequest {
                name: Some(name.into()),
                desc: Some(format!("{name} desc")),
                actions: Some(actions.iter().map(|a| a.to_string()).collect()),
            })
            .await
            .expect("remote step created")
    }

    pub async fn template(&self, name: &str, steps: &[&str]) -> i64 {
        self.client
            .create_template(&w::TemplateRequest {
                name: Some(name.into()),
                desc: Some(format!("{name} desc")),
                steps: Some(steps.iter().map(|s| step(s)).collect()),
            })
            .await
            .expect("template created")
    }
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

pub fn step(name: &str) -> w::TemplateStep {
    w::TemplateStep {
        name: name.into(),
        param_values: object(json!({"k": "v"})),
        retry: w::Retry {
            retry_times: 2,
            ignore_error: false,
        },
    }
}

/// The HTTP status, envelope code and message of a raw reply.
pub fn status_code_msg(reply: &RawReply) -> (u16, i64, String) {
    (
        reply.status.as_u16(),
        reply.body["code"].as_i64().unwrap_or(-1),
        reply.body["msg"].as_str().unwrap_or_default().to_string(),
    )
}

/// Asserts an error answer: the HTTP status, the same `code` in the envelope, and a message
/// containing `needle`.
pub fn assert_error(reply: &RawReply, status: u16, needle: &str) {
    let (s, code, msg) = status_code_msg(reply);
    assert_eq!(s, status, "HTTP status of {}", reply.body);
    assert_eq!(code, i64::from(status), "envelope code of {}", reply.body);
    assert!(msg.contains(needle), "`{msg}` should mention `{needle}`");
}

/// Asserts a client error: HTTP status and envelope code, and a message containing `needle`.
pub fn assert_api_error(error: &ClientError, status: u16, needle: &str) {
    assert_eq!(error.status(), Some(status), "{error}");
    assert_eq!(error.code(), Some(i64::from(status)), "{error}");
    assert!(
        error.message().contains(needle),
        "`{}` should mention `{needle}`",
        error.message()
    );
}

/// An action `name` running `args` in the shell, its implementation, and a remote step of the
/// same name that runs it.
pub async fn shell_step(client: &TaskEngineClient, name: &str, args: String) {
    let id = client
        .create_action(&w::ActionRequest {
            name: Some(name.into()),
            desc: None,
            params: None,
        })
        .await
        .expect("action");
    client
        .create_action_impl(&w::ActionImplRequest {
            action_id: Some(id),
            impl_type: Some("ansible".into()),
            template: Some(object(json!({"action": {"module": "shell", "args": args}}))),
        })
        .await
        .expect("implementation");
    client
        .create_remote_step(&w::RemoteStepRequest {
            name: Some(name.into()),
            desc: None,
            actions: Some(vec![name.into()]),
        })
        .await
        .expect("remote step");
}
