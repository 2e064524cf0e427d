use std::process::ExitCode;

use cloud_portal::{Config, SERVICE};

#[actix_web::main]
async fn main() -> ExitCode {
    kit::entry::run(SERVICE, Config::default(), |c| &c.log, cloud_portal::start).await
}
