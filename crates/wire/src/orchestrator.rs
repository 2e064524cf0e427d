//! orchestrator: clusters, services, pools and their nodes (see `proto-docs/orchestrator.md`).
//!
//! The envelope is the task-engine's: every answer is a [`Reply`]
//! (`{"code":0,"msg":"success","data":...}`), lists a [`ListReply`] adding `page`, `page_size`
//! and `query_count`; an error carries its HTTP status as `code` and the reason in `msg`.

use serde::{Deserialize, Serialize};

pub use crate::task_engine::{ListReply, Listed, Reply};

/// Node status: a node in service (manual nodes are recorded in this state).
pub const NODE_SUCCESS: i32 = 1;
/// Node status: a node whose last operation failed.
pub const NODE_FAILED: i32 = 3;
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
    pub ip: String,
    pub vm_id: String,
    pub status: i32,
    pub node_type: String,
}

/// What `service/create` and `pool/create` answer as `data`: `{"id": 1}` (the seed's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub id: i64,
}
