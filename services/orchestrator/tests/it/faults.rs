//! Database fault drills (kit::testing::drills) on a private MariaDB: SIGKILL + restart and
//! SIGSTOP beyond the request deadline. The figures go to BENCHMARKS.md's "Faults" table.

use std::sync::Arc;
use std::time::Duration;

use client::Method;
use kit::testing::drills::{run_database_drills, DrillTarget};
use kit::testing::mariadb::PrivateMariaDb;
use orchestrator::schedules::ManualClock;
use serde_json::json;

use crate::support::{at, test_config, TestApp};

const DEADLINE: Duration = Duration::from_millis(1_000);

struct Orchestrator(TestApp);

fn name(n: u32) -> String {
    format!("drill-{n}")
}

impl DrillTarget for Orchestrator {
    fn url(&self) -> String {
        self.0.url().to_string()
    }

    async fn write(&self, n: u32) -> u16 {
        let params = json!({"name": name(n), "desc": "a drill", "biz": "drills"});
        self.0
            .call(Method::POST, "/cluster/create", params)
            .await
            .status
            .as_u16()
    }

    async fn read(&self) -> u16 {
        self.0
            .call(Method::GET, "/cluster/list", json!({"page_size": 5}))
            .await
            .status
            .as_u16()
    }

    async fn stored(&self, n: u32) -> bool {
        let clusters = self
            .0
            .client
            .clusters(1, 1000)
            .await
            .expect("clusters listed after the drills");
        clusters.data.iter().any(|c| c.name == name(n))
    }
}

#[actix_web::test]
async fn database_drills() {
    let mut database = PrivateMariaDb::start();
    let mut config = test_config(&database.config("oc_drill"), "");
    config.database.request_deadline_ms = DEADLINE.as_millis() as u64;
    let app = TestApp::start(config, None, Arc::new(ManualClock::new(at(0, 0)))).await;
    let target = Orchestrator(app);
    for report in run_database_drills(&mut database, &target, DEADLINE).await {
        eprintln!("{}", report.row("orchestrator"));
    }
}
