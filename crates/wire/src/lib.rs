//! The wire contracts of DCP: serde request and response types of every service. No I/O.

pub mod cloud_portal;
pub mod cmdb;
pub mod host;
pub mod identity;
pub mod lenient;
pub mod orchestrator;
pub mod resource_pool;
pub mod soa_registry;
pub mod task_engine;
