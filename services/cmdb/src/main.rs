use std::process::ExitCode;

use cmdb::{Config, SERVICE};

#[actix_web::main]
async fn main() -> ExitCode {
    kit::entry::run(SERVICE, Config::default(), |c| &c.log, cmdb::start).await
}
