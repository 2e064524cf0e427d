//! The wire contracts of DCP: serde request and response types of every service. No I/O.

pub mod lenient;
pub mod resource_pool;
