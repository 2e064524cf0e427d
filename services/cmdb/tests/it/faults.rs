//! Database fault drills (kit::testing::drills) on a private MariaDB: SIGKILL + restart and
//! SIGSTOP beyond the request deadline. The figures go to BENCHMARKS.md's "Faults" table.

use std::time::Duration;

use client::ClientError;
use kit::testing::drills::{run_database_drills, DrillTarget};
use kit::testing::mariadb::PrivateMariaDb;
use serde_json::json;

use crate::support::TestApp;

const DEADLINE: Duration = Duration::from_millis(1_000);

struct Cmdb(TestApp);

fn hostname(n: u32) -> String {
    format!("drill-{n}")
}

/// The HTTP status of an answer (200 for a success).
fn status<T>(answer: Result<T, ClientError>) -> u16 {
    match answer {
        Ok(_) => 200,
        Err(e) => e
            .status()
            .unwrap_or_else(|| panic!("cmdb did not answer: {e}")),
    }
}

impl DrillTarget for Cmdb {
    fn url(&self) -> String {
        self.0.server.url.clone()
    }

    async fn write(&self, n: u32) -> u16 {
        let ci = json!({"ci_type": "server", "hostname": hostname(n)});
        status(self.0.admin.add_ci(ci).await)
    }

    async fn read(&self) -> u16 {
        status(self.0.admin.search(json!({"q": "_type:server"})).await)
    }

    async fn stored(&self, n: u32) -> bool {
        let found = self
            .0
            .admin
            .search(json!({"q": format!("hostname:{}", hostname(n))}))
            .await
            .expect("a search after the drills");
        found.numfound == 1
    }
}

#[actix_web::test]
async fn database_drills() {
    let mut database = PrivateMariaDb::start();
    let mut config = database.config("cmdb_drill");
    config.request_deadline_ms = DEADLINE.as_millis() as u64;
    let app = TestApp::spawn_on(&config).await;
    app.server_model().await;
    let target = Cmdb(app);
    for report in run_database_drills(&mut database, &target, DEADLINE).await {
        eprintln!("{}", report.row("cmdb"));
    }
}
