//! The framework's ceiling for `make bench` (deploy/bench_path.py): a bare actix-web server with
//! the services' worker count and one handler answering a JSON body the size of resource-pool's
//! `get_instance` reply — no middleware, no database, no log line. Prints `listening on URL` as
//! the services do. Bind address: `DCP_HTTP__BIND` (default 127.0.0.1:0).

use actix_web::{web, App, HttpResponse, HttpServer};

async fn instance() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "code": 0,
        "msg": "success",
        "data": {
            "id": 1, "server_id": 1, "ip": "10.0.0.1", "port": 3306, "name": "inst1",
            "level": "A", "stat": 1, "business_id": null, "business": "", "owner_id": null,
            "owner": "", "db_type": "mysql", "ha_type": "", "online_date": "2024-01-01 00:00:00"
        }
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("DCP_HTTP__BIND").unwrap_or_else(|_| "127.0.0.1:0".into());
    let server =
        HttpServer::new(|| App::new().route("/{tail:.*}", web::get().to(instance))).bind(bind)?;
    for addr in server.addrs() {
        println!("bare-actix listening on http://{addr}");
    }
    server.run().await
}
