use std::process::ExitCode;

use cmdb::{Config, SERVICE};

#[actix_web::main]
async fn main() -> ExitCode {
    let file = kit::config::file_from_args();
    let config = match kit::config::load(&Config::default(), file.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{SERVICE}: {e}");
            return ExitCode::from(2);
        }
    };
    kit::telemetry::init(&config.log);
    let bound = match cmdb::start(config).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("{SERVICE}: {e}");
            return ExitCode::from(1);
        }
    };
    // Scripts (make run, the Python tests) read this line to learn the address.
    println!("{SERVICE} listening on http://{}", bound.addr);
    match bound.server.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{SERVICE}: {e}");
            ExitCode::from(1)
        }
    }
}
