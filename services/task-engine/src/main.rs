use std::process::ExitCode;

use task_engine::{Config, SERVICE};

#[actix_web::main]
async fn main() -> ExitCode {
    kit::entry::run(SERVICE, Config::default(), |c| &c.log, task_engine::start).await
}
