//! orchestrator: clusters, services, pools and their nodes (see `proto-docs/orchestrator.md`).
//!
//! The envelope is the task-engine's: every answer is a [`Reply`]
//! (`{"code":0,"msg":"success","data":...}`), lists a [`ListReply`] adding `page`, `page_size`
//! and `query_count`; an error carries its HTTP status as `code` and the reason in `msg`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

pub use crate::task_engine::{ListReply, Listed, Reply};

/// The status of a pool's node; on the wire, its number (`"status": 1`), and by name in
/// `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(i32)]
pub enum NodeState {
    /// Created by expand, no instance yet.
    Pending = 0,
    /// A node in service (manual nodes are recorded in this state).
    Success = 1,
    /// Its expand or deploy task is running on it.
    Running = 2,
    /// Its last operation failed (`step` says where).
    Failed = 3,
    /// Its shrink task is running; it leaves the pool when that succeeds.
    Removing = 4,
}

/// A number that is not a [`NodeState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a node status (0 pending .. 4 removing)")]
pub struct UnknownNodeState(pub i32);

impl NodeState {
    /// Its number on the wire and in the database.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Its name, as `state` shows it.
    pub fn name(self) -> &'static str {
        match self {
            NodeState::Pending => "pending",
            NodeState::Success => "ok",
            NodeState::Running => "running",
            NodeState::Failed => "failed",
            NodeState::Removing => "removing",
        }
    }
}

impl From<NodeState> for i32 {
    fn from(state: NodeState) -> i32 {
        state.code()
    }
}

impl TryFrom<i32> for NodeState {
    type Error = UnknownNodeState;

    fn try_from(code: i32) -> Result<Self, Self::Error> {
        Ok(match code {
            0 => NodeState::Pending,
            1 => NodeState::Success,
            2 => NodeState::Running,
            3 => NodeState::Failed,
            4 => NodeState::Removing,
            other => return Err(UnknownNodeState(other)),
        })
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Use [`NodeState::Pending`] (kept as a number while the orchestrator's store reads them).
pub const NODE_PENDING: i32 = NodeState::Pending as i32;
/// Use [`NodeState::Success`].
pub const NODE_SUCCESS: i32 = NodeState::Success as i32;
/// Use [`NodeState::Running`].
pub const NODE_RUNNING: i32 = NodeState::Running as i32;
/// Use [`NodeState::Failed`].
pub const NODE_FAILED: i32 = NodeState::Failed as i32;
/// Use [`NodeState::Removing`].
pub const NODE_REMOVING: i32 = NodeState::Removing as i32;

/// The name of a node status, as `state` shows it; `unknown` for a number that is none.
pub fn node_state_name(status: i32) -> &'static str {
    NodeState::try_from(status).map_or("unknown", NodeState::name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_state_travels_as_its_number_and_keeps_its_name() {
        for (state, code, name) in [
            (NodeState::Pending, 0, "pending"),
            (NodeState::Success, 1, "ok"),
            (NodeState::Running, 2, "running"),
            (NodeState::Failed, 3, "failed"),
            (NodeState::Removing, 4, "removing"),
        ] {
            assert_eq!(
                serde_json::to_string(&state).expect("serialize"),
                code.to_string()
            );
            assert_eq!(NodeState::try_from(code), Ok(state));
            assert_eq!(node_state_name(code), name);
        }
        assert_eq!(NodeState::try_from(5), Err(UnknownNodeState(5)));
        assert_eq!(node_state_name(-1), "unknown");
    }
}
