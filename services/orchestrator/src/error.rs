//! The one error type of orchestrator: the orchestration seed's envelope, with the HTTP status as
//! `code` and the reason as `msg`, shared with the other service that serves that seed (see
//! `kit::status_error`, where it goes on the wire).

pub use kit::status_error::StatusError as Error;
