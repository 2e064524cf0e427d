//! A real task-engine in-process on port 0, running its remote steps over the kit's real sshd
//! (nodes are 127.0.0.x), and helpers to give it actions, remote steps and templates.

use client::TaskEngineClient;
use kit::testing::{Served, TestBackend, TestDatabase};
use serde_json::{json, Map, Value};
use task_engine::config::EventsConfig;
use wire::task_engine as w;

pub struct Engine {
    pub url: String,
    pub client: TaskEngineClient,
    server: Served,
    _db: TestDatabase,
    _ssh_dir: tempfile::TempDir,
}

impl Engine {
    pub async fn spawn(backend: TestBackend) -> Engine {
        Engine::spawn_with(backend, |_| {}).await
    }

    /// The engine with `adjust` applied to its configuration (e.g. its peers).
    pub async fn spawn_with(
        backend: TestBackend,
        adjust: impl FnOnce(&mut task_engine::Config),
    ) -> Engine {
        let db = TestDatabase::create(backend, "oc_te");
        let ssh_dir = tempfile::tempdir().expect("a temp folder for ssh");
        let mut config = testpeers::task_engine_config(&db.config, ssh_dir.path(), 20);
        // The orchestrators of the tests bind 127.0.0.1, port 0: their event URL is
        // http://127.0.0.1:<port>/internal/task_event, the port known only once bound.
        config.events = EventsConfig {
            allowed_urls: vec!["http://127.0.0.1:*/internal/task_event".into()],
        };
        adjust(&mut config);
        let (server, client) = testpeers::serve_task_engine(config).await;
        Engine {
            url: server.url.clone(),
            client,
            server,
            _db: db,
            _ssh_dir: ssh_dir,
        }
    }

    /// A shell action `name` running `command` (`{{placeholders}}` filled by the engine), and a
    /// remote step of the same name.
    pub async fn remote_step(&self, name: &str, command: &str) {
        let id = self
            .client
            .create_action(&w::ActionRequest {
                name: Some(name.into()),
                desc: Some(name.into()),
                params: Some(Map::new()),
            })
            .await
            .expect("action created");
        self.client
            .create_action_impl(&w::ActionImplRequest {
                action_id: Some(id),
                impl_type: Some("ansible".into()),
                template: Some(object(
                    json!({"action": {"module": "shell", "args": command}}),
                )),
            })
            .await
            .expect("action implementation created");
        self.client
            .create_remote_step(&w::RemoteStepRequest {
                name: Some(name.into()),
                desc: Some(name.into()),
                actions: Some(vec![name.to_string()]),
            })
            .await
            .expect("remote step created");
    }

    /// A template of these steps (no retries), each with `params` as its values.
    pub async fn template(&self, name: &str, steps: &[&str], params: Value) -> i64 {
        self.client
            .create_template(&w::TemplateRequest {
                name: Some(name.into()),
                desc: Some(name.into()),
                steps: Some(
                    steps
                        .iter()
                        .map(|s| w::TemplateStep {
                            name: s.to_string(),
                            param_values: object(params.clone()),
                            retry: w::Retry {
                                retry_times: 0,
                                ignore_error: false,
                            },
                        })
                        .collect(),
                ),
            })
            .await
            .expect("template created")
    }

    /// How many tasks the engine holds.
    pub async fn task_count(&self) -> u64 {
        self.client
            .tasks(1, 1)
            .await
            .expect("tasks listed")
            .query_count
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
