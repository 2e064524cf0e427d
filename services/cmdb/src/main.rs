use std::process::ExitCode;

use cmdb::{Config, SERVICE};

/// See Cargo.toml: the search's rendering allocates heavily, and mimalloc does it for a
/// fraction of glibc's instructions.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> ExitCode {
    kit::entry::run(SERVICE, Config::default(), |c| &c.log, cmdb::start).await
}
