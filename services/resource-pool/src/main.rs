use std::process::ExitCode;

use resource_pool::{Config, SERVICE};

#[actix_web::main]
async fn main() -> ExitCode {
    kit::entry::run(SERVICE, Config::default(), |c| &c.log, resource_pool::start).await
}
