//! Typed async clients of the DCP services, built on `wire`. Services call each other through
//! these; integration tests and tools talk to services through them too.
//!
//! Every call carries an `X-Request-Id` (the caller's, when it has one, so one id follows a
//! request across services), has a timeout, and idempotent calls are retried on connection
//! errors only — never on an answer, and never for writes.

pub mod cloud_portal;
pub mod cmdb;
pub mod credentials;
mod orchestration;
pub mod orchestrator;
pub mod resource_pool;
pub mod soa_registry;
pub mod task_engine;
pub mod transport;

pub use cloud_portal::CloudPortalClient;
pub use cmdb::CmdbClient;
pub use credentials::Credentials;
pub use orchestrator::OrchestratorClient;
pub use reqwest::{Method, StatusCode};
pub use resource_pool::ResourcePoolClient;
pub use soa_registry::SoaRegistryClient;
pub use task_engine::TaskEngineClient;
pub use transport::{ClientConfig, ClientError, Encoding, RawReply, Transport};
