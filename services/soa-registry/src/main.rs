use std::process::ExitCode;

use soa_registry::{Config, SERVICE};

#[actix_web::main]
async fn main() -> ExitCode {
    kit::entry::run(SERVICE, Config::default(), |c| &c.log, soa_registry::start).await
}
