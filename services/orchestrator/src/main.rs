use std::process::ExitCode;

use orchestrator::{Config, SERVICE};

#[actix_web::main]
async fn main() -> ExitCode {
    kit::entry::run(SERVICE, Config::default(), |c| &c.log, orchestrator::start).await
}
