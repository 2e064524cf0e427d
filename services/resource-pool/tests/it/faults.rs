//! Database fault drills (kit::testing::drills) on a private MariaDB: SIGKILL + restart and
//! SIGSTOP beyond the request deadline. The figures go to BENCHMARKS.md's "Faults" table.

use std::time::Duration;

use client::{ClientConfig, Encoding, Method, ResourcePoolClient};
use kit::auth::Role;
use kit::testing::drills::{run_database_drills, DrillTarget};
use kit::testing::issuer::issuer;
use kit::testing::mariadb::PrivateMariaDb;
use kit::testing::{serve, test_http};
use resource_pool::Config;
use serde_json::json;

use crate::support::TESTER;

const DEADLINE: Duration = Duration::from_millis(1_000);

struct ResourcePool {
    client: ResourcePoolClient,
    url: String,
}

fn ip(n: u32) -> String {
    format!("10.77.{}.{}", n / 250, n % 250 + 1)
}

impl ResourcePool {
    async fn status(&self, function: &str, method: Method, params: serde_json::Value) -> u16 {
        self.client
            .call_raw(function, method, Encoding::Json, &params)
            .await
            .map(|reply| reply.status.as_u16())
            .unwrap_or_else(|e| panic!("{function} did not answer: {e}"))
    }
}

impl DrillTarget for ResourcePool {
    fn url(&self) -> String {
        self.url.clone()
    }

    async fn write(&self, n: u32) -> u16 {
        self.status("add_server", Method::POST, json!({ "ip": ip(n) }))
            .await
    }

    async fn read(&self) -> u16 {
        self.status("get_server_by_ip", Method::POST, json!({ "ip": ip(1) }))
            .await
    }

    async fn stored(&self, n: u32) -> bool {
        self.client.server(&ip(n)).await.is_ok()
    }
}

#[actix_web::test]
async fn database_drills() {
    let mut database = PrivateMariaDb::start();
    let mut config = Config {
        http: test_http(),
        database: database.config("rp_drill"),
        auth: issuer().auth_config(),
        ..Config::default()
    };
    config.database.request_deadline_ms = DEADLINE.as_millis() as u64;
    let server = serve(
        resource_pool::start(config)
            .await
            .expect("resource-pool starts"),
    );
    let token = issuer().token(TESTER, &[Role::Operator]);
    let target = ResourcePool {
        client: ResourcePoolClient::new(ClientConfig::new(&server.url).with_token(token))
            .expect("client builds"),
        url: server.url.clone(),
    };
    for report in run_database_drills(&mut database, &target, DEADLINE).await {
        eprintln!("{}", report.row("resource-pool"));
    }
}
