//! The client of orchestrator: one method per route. Lists are read with GET and the page in
//! the query string; everything else is a POST with a JSON body.

use serde_json::{json, Map, Value};
use wire::orchestrator as w;

use crate::orchestration;
use crate::transport::ClientError;

orchestration::seed_client!(
    /// The orchestrator's routes (and, through its front door, the task-engine's).
    OrchestratorClient
);

impl OrchestratorClient {
    // ---- clusters ----

    pub async fn clusters(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Cluster>, ClientError> {
        self.list("/cluster/list", page, page_size).await
    }

    pub async fn create_cluster(
        &self,
        name: &str,
        desc: &str,
        biz: &str,
    ) -> Result<i64, ClientError> {
        self.post(
            "/cluster/create",
            &json!({"name": name, "desc": desc, "biz": biz}),
        )
        .await
    }

    /// Changes the given fields (`name`, `desc`, `biz`) of cluster `id`.
    pub async fn update_cluster(&self, id: i64, fields: &Value) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/cluster/update/{id}"), fields)
            .await
            .map(drop)
    }

    pub async fn delete_cluster(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/cluster/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    pub async fn cluster(&self, id: i64) -> Result<w::Cluster, ClientError> {
        self.post(&format!("/cluster/{id}"), &json!({})).await
    }

    pub async fn cluster_services(
        &self,
        id: i64,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Service>, ClientError> {
        self.list(&format!("/cluster/{id}/list_services"), page, page_size)
            .await
    }

    // ---- services ----

    /// Creates a service from `fields` (`name`, `desc`, `service_type`, `docker_image`,
    /// `cluster_id`); returns its id.
    pub async fn create_service(&self, fields: &Value) -> Result<i64, ClientError> {
        self.post::<w::Created, _>("/service/create", fields)
            .await
            .map(|c| c.id)
    }

    pub async fn delete_service(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/service/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    pub async fn service(&self, id: i64) -> Result<w::Service, ClientError> {
        self.post(&format!("/service/{id}"), &json!({})).await
    }

    pub async fn service_pools(
        &self,
        id: i64,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Pool>, ClientError> {
        self.list(&format!("/service/{id}/list_pools"), page, page_size)
            .await
    }

    // ---- pools ----

    /// Creates a pool from `fields` (`name`, `desc`, `vm_type`, `sd_id`, `service_id`,
    /// `expand_tpl`, `shrink_tpl`, `deploy_tpl`); returns its id.
    pub async fn create_pool(&self, fields: &Value) -> Result<i64, ClientError> {
        self.post::<w::Created, _>("/pool/create", fields)
            .await
            .map(|c| c.id)
    }

    pub async fn update_pool(&self, id: i64, fields: &Value) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/pool/update/{id}"), fields)
            .await
            .map(drop)
    }

    pub async fn delete_pool(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/pool/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    pub async fn pool(&self, id: i64) -> Result<w::Pool, ClientError> {
        self.post(&format!("/pool/{id}"), &json!({})).await
    }

    pub async fn pool_nodes(
        &self,
        id: i64,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::Node>, ClientError> {
        self.list(&format!("/pool/{id}/list_nodes"), page, page_size)
            .await
    }

    /// Records `ips` as manual nodes of pool `id`; returns the new node ids.
    pub async fn add_nodes(&self, id: i64, ips: &[&str]) -> Result<Vec<i64>, ClientError> {
        self.post(&format!("/pool/{id}/add_nodes"), &json!({"nodes": ips}))
            .await
    }

    pub async fn remove_nodes(&self, id: i64, ips: &[&str]) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/pool/{id}/remove_nodes"), &json!({"nodes": ips}))
            .await
            .map(drop)
    }

    /// The pool of each of `ips` that is in one.
    pub async fn search_by_ip(&self, ips: &[&str]) -> Result<Map<String, Value>, ClientError> {
        self.post(&format!("/pool/search_by_ip/{}", ips.join(",")), &json!({}))
            .await
    }

    // ---- expand, shrink, deploy: each answers the task-engine task it started ----

    /// Expands pool `id` by `num` nodes; returns the task id.
    pub async fn expand(&self, id: i64, num: i64) -> Result<i64, ClientError> {
        self.post::<w::Started, _>(&format!("/pool/expand/{id}"), &json!({"num": num}))
            .await
            .map(|s| s.task_id)
    }

    /// Shrinks pool `id` by the nodes of `ips`; returns the task id.
    pub async fn shrink(&self, id: i64, ips: &[&str]) -> Result<i64, ClientError> {
        self.post::<w::Started, _>(&format!("/pool/shrink/{id}"), &json!({"nodes": ips}))
            .await
            .map(|s| s.task_id)
    }

    /// Deploys `tag` on every node of pool `id`, `max_num` per batch; returns the task id.
    pub async fn deploy(&self, id: i64, max_num: i64, tag: &str) -> Result<i64, ClientError> {
        self.post::<w::Started, _>(
            &format!("/pool/deploy/{id}"),
            &json!({"max_num": max_num, "tag": tag}),
        )
        .await
        .map(|s| s.task_id)
    }

    // ---- registry targets ----

    pub async fn sd_targets(
        &self,
        page: u64,
        page_size: u64,
    ) -> Result<w::Listed<w::SdTarget>, ClientError> {
        self.list("/sd/list", page, page_size).await
    }

    pub async fn create_sd_target(
        &self,
        zkidc: &str,
        service: &str,
        port: u16,
    ) -> Result<i64, ClientError> {
        self.post::<w::Created, _>(
            "/sd/create",
            &json!({"zkidc": zkidc, "service": service, "port": port}),
        )
        .await
        .map(|c| c.id)
    }

    /// Changes the given fields (`zkidc`, `service`, `port`) of target `id`.
    pub async fn update_sd_target(&self, id: i64, fields: &Value) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/sd/update/{id}"), fields)
            .await
            .map(drop)
    }

    pub async fn delete_sd_target(&self, id: i64) -> Result<(), ClientError> {
        self.post::<Value, _>(&format!("/sd/delete/{id}"), &json!({}))
            .await
            .map(drop)
    }

    // ---- schedules ----

    /// Saves a schedule (`id` 0 = new): `pool_id`, `type`, `exec_type`, `cron_items`,
    /// `depend_items`, as `/task/saveTask` takes them.
    pub async fn save_schedule(&self, fields: &Value) -> Result<(), ClientError> {
        self.post::<Value, _>("/task/saveTask", fields)
            .await
            .map(drop)
    }

    pub async fn expand_schedules(&self, pool_id: i64) -> Result<Vec<w::Schedule>, ClientError> {
        self.post(&format!("/task/expandList/{pool_id}"), &json!({}))
            .await
    }

    pub async fn upload_schedules(&self, pool_id: i64) -> Result<Vec<w::Schedule>, ClientError> {
        self.post(&format!("/task/uploadList/{pool_id}"), &json!({}))
            .await
    }

    /// Whether this replica leads the scheduler.
    pub async fn scheduler_status(&self) -> Result<w::SchedulerStatus, ClientError> {
        self.post("/internal/scheduler", &json!({})).await
    }
}
