//! The client of task-engine: one method per route. Lists are read with GET and the page in
//! the query string; everything else is a POST with a JSON body.

use serde_json::{json, Value};
use wire::task_engine as w;

use crate::orchestration;
use crate::transport::ClientError;

orchestration::seed_client!(
    /// The task-engine's routes: actions, implementations, remote steps, templates, tasks.
    TaskEngineClient
);

impl TaskEngineClient {
    // ---- actions ----

    pub async fn actions(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Action>, ClientError> {
        self.list("/action/list", page, page_size).await
    }

    pub async fn action(&self, id: i64) -> Result<w::Action, ClientError> {
        self.post(&format!("/action/{id}"), &json!({})).await
    }

    pub async fn create_action(&self, action: &w::ActionRequest) -> Result<i64, ClientError> {
        self.post("/action/create", action).await
    }

    pub async fn update_action(
        &self,
        id: i64,
        action: &w::ActionRequest,
    ) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/action/update/{id}"), action)
            .await
            .map(drop)
    }

    pub async fn delete_action(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/action/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    // ---- action implementations (`/actimpl/*`; `/action/impl/*` is the same) ----

    pub async fn action_impls(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::ActionImpl>, ClientError> {
        self.list("/actimpl/list", page, page_size).await
    }

    pub async fn action_impl(&self, id: i64) -> Result<w::ActionImpl, ClientError> {
        self.post(&format!("/actimpl/{id}"), &json!({})).await
    }

    pub async fn create_action_impl(&self, imp: &w::ActionImplRequest) -> Result<i64, ClientError> {
        self.post("/actimpl/create", imp).await
    }

    pub async fn update_action_impl(
        &self,
        id: i64,
        imp: &w::ActionImplRequest,
    ) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/actimpl/update/{id}"), imp)
            .await
            .map(drop)
    }

    pub async fn delete_action_impl(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/actimpl/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    // ---- remote steps ----

    pub async fn remote_steps(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::RemoteStep>, ClientError> {
        self.list("/remote_step/list", page, page_size).await
    }

    pub async fn remote_step(&self, id: i64) -> Result<w::RemoteStep, ClientError> {
        self.post(&format!("/remote_step/{id}"), &json!({})).await
    }

    pub async fn create_remote_step(
        &self,
        step: &w::RemoteStepRequest,
    ) -> Result<i64, ClientError> {
        self.post("/remote_step/create", step).await
    }

    pub async fn update_remote_step(
        &self,
        id: i64,
        step: &w::RemoteStepRequest,
    ) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/remote_step/update/{id}"), step)
            .await
            .map(drop)
    }

    pub async fn delete_remote_step(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/remote_step/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    // ---- templates (`/task_tpl/*`; `/task/impl/*` is the same) ----

    pub async fn templates(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Template>, ClientError> {
        self.list("/task_tpl/list", page, page_size).await
    }

    pub async fn template(&self, id: i64) -> Result<w::Template, ClientError> {
        self.post(&format!("/task_tpl/{id}"), &json!({})).await
    }

    pub async fn create_template(&self, template: &w::TemplateRequest) -> Result<i64, ClientError> {
        self.post("/task_tpl/create", template).await
    }

    pub async fn update_template(
        &self,
        id: i64,
        template: &w::TemplateRequest,
    ) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/task_tpl/update/{id}"), template)
            .await
            .map(drop)
    }

    pub async fn delete_template(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/task_tpl/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    pub async fn task_steps(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::TaskStep>, ClientError> {
        self.list("/task_step/list", page, page_size).await
    }

    // ---- tasks ----

    pub async fn create_task(&self, task: &w::TaskRequest) -> Result<i64, ClientError> {
        self.post("/task/create", task).await
    }

    /// Starts an INIT task, or resumes a FAILED one (`/task/start` with `{"id": id}`).
    pub async fn start_task(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>("/task/start", &json!({ "id": id }))
            .await
            .map(drop)
    }

    /// Pauses a RUNNING task at the next step boundary (`/task/pause` with `{"id": id}`);
    /// `start_task` resumes it.
    pub async fn pause_task(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>("/task/pause", &json!({ "id": id }))
            .await
            .map(drop)
    }

    /// Stops a task for good (`/task/stop` with `{"id": id}`).
    pub async fn stop_task(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>("/task/stop", &json!({ "id": id }))
            .await
            .map(drop)
    }

    pub async fn tasks(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Task>, ClientError> {
        self.list("/task/list", page, page_size).await
    }

    pub async fn task(&self, id: i64) -> Result<w::Task, ClientError> {
        self.post(&format!("/task/{id}"), &json!({})).await
    }

    pub async fn task_detail(&self, id: i64) -> Result<Vec<w::TaskNode>, ClientError> {
        self.post(&format!("/task/{id}/detail"), &json!({})).await
    }

    pub async fn task_log(&self, id: i64) -> Result<Vec<w::LogRow>, ClientError> {
        self.post(&format!("/task/{id}/log"), &json!({})).await
    }

    pub async fn node_log(&self, nsid: i64) -> Result<Vec<w::LogRow>, ClientError> {
        self.post(&format!("/task/node/{nsid}/log"), &json!({}))
            .await
    }
}
