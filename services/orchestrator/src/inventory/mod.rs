//! Clusters, services, pools and their nodes: the tree the orchestrator owns. A service lives
//! under a cluster and a pool under a service; nodes are the pool's machines. The rules of
//! each level are in its module; the shape they share is [`crate::records::Records`].

pub mod clusters;
pub mod nodes;
pub mod pools;
pub mod scope;
pub mod services;
