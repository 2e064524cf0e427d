//! orchestrator: clusters, services, pools and their nodes (see `proto-docs/orchestrator.md`).
//!
//! The envelope is the task-engine's: every answer is a [`Reply`]
//! (`{"code":0,"msg":"success","data":...}`), lists a [`ListReply`] adding `page`, `page_size`
//! and `query_count`; an error carries its HTTP status as `code` and the reason in `msg`.

use serde::{Deserialize, Serialize};

pub use crate::task_engine::{ListReply, Listed, Reply};

/// Node status: created by expand, no instance yet.
pub const NODE_PENDING: i32 = 0;
/// Node status: a node in service (manual nodes are recorded in this state).
pub const NODE_SUCCESS: i32 = 1;
/// Node status: its expand or deploy task is running on it.
pub const NODE_RUNNING: i32 = 2;
/// Node status: a node whose last operation failed (`step` says where).
pub const NODE_FAILED: i32 = 3;
/// Node status: its shrink task is running; it leaves the pool when that succeeds.
pub const NODE_REMOVING: i32 = 4;

/// The name of a node status, as `state` shows it.
pub fn node_state_name(status: i32) -> &'static str {
    match status {
        NODE_PENDING => "pending",
        NODE_SUCCESS => "ok",
        NODE_RUNNING => "running",
        NODE_FAILED => "failed",
        NODE_REMOVING => "removing",
        _ => "unknown",
    }
}
/// `node_type` of a node added by hand (`add_nodes`).
pub const NODE_MANUAL: &str = "manual";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: i64,
    pub name: String,
    pub desc: String,
    pub biz: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: i64,
    pub name: String,
    pub desc: String,
    pub service_type: String,
    pub docker_image: String,
    pub cluster_id: i64,
}

/// A pool. `expand_tpl`, `shrink_tpl` and `deploy_tpl` are task-engine template ids (0 = none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub id: i64,
    pub name: String,
    pub desc: String,
    pub vm_type: i64,
    pub sd_id: i64,
    pub service_id: i64,
    pub expand_tpl: i64,
    pub shrink_tpl: i64,
    pub deploy_tpl: i64,
    pub node_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: i64,
    pub pool_id: i64,
    /// Empty while the node is pending (no instance yet).
    pub ip: String,
    pub vm_id: String,
    pub status: i32,
    pub node_type: String,
    /// `status` by name: pending, ok, running, failed, removing.
    #[serde(default)]
    pub state: String,
    /// The step a failed node failed at (empty otherwise).
    #[serde(default)]
    pub step: String,
    /// The tag (image) last deployed or expanded on the node.
    #[serde(default)]
    pub tag: String,
    /// The task-engine task acting on the node, or the last one that did (0 = none).
    #[serde(default)]
    pub task_id: i64,
}

/// A registry target (`/sd/*`): where a pool's nodes are registered in soa-registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdTarget {
    pub id: i64,
    pub zkidc: String,
    pub service: String,
    pub port: i32,
}

/// What expand, shrink and deploy answer as `data`: the task-engine task they started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub task_id: i64,
}

/// A cron item of a schedule: at `time` ("HH:MM") on `week_day` (0 = every day, 1-7 = Sunday
/// to Saturday), scale the pool to `instance_num` nodes, `concurr_num` / `concurr_ratio` per
/// batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CronItem {
    pub week_day: i32,
    pub time: String,
    pub instance_num: i32,
    pub concurr_ratio: i32,
    pub concurr_num: i32,
    pub ignore: bool,
}

/// A depend item: pool `pool_id` follows at ceil(n × `ratio`) when the schedule's pool is
/// scaled to n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DependItem {
    pub pool_id: i64,
    pub ratio: f64,
    pub elastic_count: i64,
    pub step_name: String,
    pub ignore: bool,
}

/// A schedule as `/task/expandList/:poolId` and `/task/uploadList/:poolId` list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub id: i64,
    pub pool: Pool,
    pub cron_items: Vec<CronItem>,
    pub depend_items: Vec<DependItem>,
    /// `expand` or `upload`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `crontab` or `depend`, as saved.
    pub exec_type: String,
}

/// Whether this replica runs the scheduler (`/internal/scheduler`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulerStatus {
    pub leader: bool,
    /// Scheduler loop turns so far (leader or not): tests wait on it instead of sleeping.
    pub ticks: u64,
}

/// What `service/create` and `pool/create` answer as `data`: `{"id": 1}` (the seed's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: i64,
}
