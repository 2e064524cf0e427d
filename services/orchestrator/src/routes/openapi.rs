//! `/openapi.json`: the OpenAPI 3.0.3 description of the orchestrator's own routes, built once.
//! The task-engine's routes it forwards (the one front door) are in the task-engine's own
//! document; proto-docs/orchestrator.md is the reference in prose.

use kit::openapi::{Param, SeedRoute, NO_PARAMS, SEED_PAGE};
use serde_json::{Map, Value};

kit::served_openapi!(build);

const IPS: [Param; 1] = [(
    "nodes",
    true,
    "IPs: a JSON array, a string holding one, or comma-separated",
)];

/// Path, tag, summary, parameters; in the order `configure` registers them.
const ROUTES: &[SeedRoute] = &[
    ("/cluster/list", "clusters", "List clusters", &SEED_PAGE),
    (
        "/cluster/create",
        "clusters",
        "Create a cluster; answers its id",
        &[("name", true, ""), ("desc", false, ""), ("biz", false, "")],
    ),
    (
        "/cluster/update/{id}",
        "clusters",
        "Update a cluster (absent fields kept)",
        &[("name", false, ""), ("desc", false, ""), ("biz", false, "")],
    ),
    (
        "/cluster/delete/{id}",
        "clusters",
        "Delete a cluster without services",
        &NO_PARAMS,
    ),
    (
        "/cluster/{id}/list_services",
        "clusters",
        "A cluster's services",
        &SEED_PAGE,
    ),
    ("/cluster/{id}", "clusters", "Read a cluster", &NO_PARAMS),
    (
        "/service/create",
        "services",
        "Create a service; answers {id}",
        &[
            ("name", true, ""),
            ("desc", false, ""),
            ("service_type", false, ""),
            ("docker_image", false, "the image expands use as tag"),
            ("cluster_id", true, ""),
        ],
    ),
    (
        "/service/delete/{id}",
        "services",
        "Delete a service without pools",
        &NO_PARAMS,
    ),
    (
        "/service/{id}/list_pools",
        "services",
        "A service's pools",
        &SEED_PAGE,
    ),
    ("/service/{id}", "services", "Read a service", &NO_PARAMS),
    (
        "/sd/list",
        "registry targets",
        "List registry targets",
        &SEED_PAGE,
    ),
    (
        "/sd/create",
        "registry targets",
        "Create a registry target (a pool's sd_id); answers {id}",
        &[
            ("zkidc", true, "soa-registry zkidc"),
            ("service", true, "service name under /soa/services"),
            ("port", true, "the port the nodes serve on"),
        ],
    ),
    (
        "/sd/update/{id}",
        "registry targets",
        "Update a registry target",
        &[
            ("zkidc", false, ""),
            ("service", false, ""),
            ("port", false, ""),
        ],
    ),
    (
        "/sd/delete/{id}",
        "registry targets",
        "Delete a registry target no pool uses",
        &NO_PARAMS,
    ),
    (
        "/pool/expand/{id}",
        "flows",
        "Expand a pool by num nodes; answers {task_id}",
        &[
            ("num", true, "1 to 1000"),
            ("max_num", false, "nodes per batch"),
            ("params", false, "extra task parameters (object)"),
        ],
    ),
    (
        "/pool/shrink/{id}",
        "flows",
        "Shrink a pool by these nodes; answers {task_id}",
        &IPS,
    ),
    (
        "/pool/deploy/{id}",
        "flows",
        "Deploy tag over every node of the pool; answers {task_id}",
        &[
            ("max_num", true, "nodes per batch, 1 to 1000"),
            ("tag", true, "the image"),
        ],
    ),
    (
        "/pool/create",
        "pools",
        "Create a pool; answers {id}",
        &[
            ("name", true, ""),
            ("desc", false, ""),
            ("vm_type", true, "cloud-portal image id"),
            ("sd_id", true, "registry target id, 0 = none"),
            ("service_id", true, ""),
            ("expand_tpl", false, "task-engine template id"),
            ("shrink_tpl", false, "task-engine template id"),
            ("deploy_tpl", false, "task-engine template id"),
        ],
    ),
    (
        "/pool/delete/{id}",
        "pools",
        "Delete a pool without nodes",
        &NO_PARAMS,
    ),
    (
        "/pool/update/{id}",
        "pools",
        "Update a pool (absent fields kept)",
        &[
            ("name", false, ""),
            ("desc", false, ""),
            ("vm_type", false, ""),
            ("sd_id", false, ""),
            ("expand_tpl", false, ""),
            ("shrink_tpl", false, ""),
            ("deploy_tpl", false, ""),
        ],
    ),
    (
        "/pool/search_by_ip/{iplist}",
        "pools",
        "{ip: pool_id} of those of the comma-separated IPs in a pool",
        &NO_PARAMS,
    ),
    (
        "/pool/{id}/list_nodes",
        "pools",
        "A pool's nodes with their states",
        &SEED_PAGE,
    ),
    (
        "/pool/{id}/add_nodes",
        "pools",
        "Add manual nodes by IP",
        &IPS,
    ),
    (
        "/pool/{id}/remove_nodes",
        "pools",
        "Remove nodes by IP (no task runs)",
        &IPS,
    ),
    ("/pool/{id}", "pools", "Read a pool", &NO_PARAMS),
    (
        "/internal/task_event",
        "internal",
        "A task-engine event: the orchestrator reads the task again",
        &[("fid", true, "the task id")],
    ),
    (
        "/internal/scheduler",
        "internal",
        "{leader, ticks} of this replica's scheduler",
        &NO_PARAMS,
    ),
    (
        "/task/saveTask",
        "schedules",
        "Save a pool's schedule (cron and depend items)",
        &[
            ("id", false, "0 = new"),
            ("pool_id", true, ""),
            ("cron_items", false, "also cron_itmes"),
            ("depend_items", false, "also depend_itmes"),
            ("type", true, "expand or upload"),
            ("exec_type", false, "crontab or depend"),
        ],
    ),
    (
        "/task/expandList/{id}",
        "schedules",
        "A pool's expand schedules",
        &NO_PARAMS,
    ),
    (
        "/task/uploadList/{id}",
        "schedules",
        "A pool's upload (deploy) schedules",
        &NO_PARAMS,
    ),
    kit::openapi::AUDIT_ROUTE,
];

fn build() -> Value {
    let info = kit::openapi::Info {
        service: crate::SERVICE,
        version: env!("CARGO_PKG_VERSION"),
        description: "Clusters, services, pools and nodes; expand, shrink and deploy through \
                      the task-engine; schedules. The task-engine's routes of the seed are \
                      forwarded (see the task-engine's /openapi.json). See \
                      proto-docs/orchestrator.md.",
        tags: &[],
        readiness: "the database answers",
    };
    kit::openapi::document(
        &info,
        kit::openapi::seed_paths(ROUTES, &super::table()),
        Map::new(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The orchestrator's own paths in the route table (the forwarded ones are the
    /// task-engine's to describe; `/openapi.json` is in the kit's frame).
    fn served() -> BTreeSet<String> {
        super::super::table()
            .specs()
            .filter(|spec| spec.effect != kit::routes::Effect::Forward)
            .filter(|spec| spec.path != "/openapi.json")
            .map(|spec| spec.path.clone())
            .collect()
    }

    #[test]
    fn every_route_is_described_and_nothing_else() {
        let served = served();
        assert!(served.len() > 25, "the source was read: {served:?}");
        let described: BTreeSet<String> = ROUTES.iter().map(|r| r.0.to_string()).collect();
        assert_eq!(described, served);
        let doc = document();
        assert_eq!(
            kit::openapi::method_mismatches(doc, &super::super::table()),
            Vec::<String>::new()
        );
        for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
            assert!(doc["paths"][path]["get"].is_object(), "{path}");
        }
        let expand = &doc["paths"]["/pool/expand/{id}"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        assert_eq!(expand["required"][0], "num");
    }
}
