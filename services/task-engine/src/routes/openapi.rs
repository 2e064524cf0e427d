//! `/openapi.json`: the OpenAPI 3.0.3 description of task-engine, built once. One table entry
//! per route says what it does and its parameters; proto-docs/task-engine.md is the reference
//! in prose, this is the machine-readable index of the same routes.

use kit::openapi::{Param, SeedRoute, NO_PARAMS, SEED_PAGE};
use serde_json::{Map, Value};

kit::served_openapi!(build);

const ID: [Param; 1] = [("id", true, "the task id (body or query string)")];

/// Path, tag, summary, parameters.
const ROUTES: &[SeedRoute] = &[
    ("/action/list", "actions", "List actions", &SEED_PAGE),
    (
        "/action/create",
        "actions",
        "Create an action; answers its id",
        &[
            ("name", true, "unique, at most 191 characters"),
            ("desc", false, "text"),
            (
                "params",
                false,
                "the parameter schema, an object (name -> type)",
            ),
        ],
    ),
    (
        "/action/update/{id}",
        "actions",
        "Update an action (absent fields are kept)",
        &[
            ("name", false, ""),
            ("desc", false, ""),
            ("params", false, ""),
        ],
    ),
    (
        "/action/delete/{id}",
        "actions",
        "Delete an action",
        &NO_PARAMS,
    ),
    ("/action/{id}", "actions", "Read an action", &NO_PARAMS),
    (
        "/actimpl/list",
        "action implementations",
        "List action implementations",
        &SEED_PAGE,
    ),
    (
        "/actimpl/create",
        "action implementations",
        "Create an action implementation (also /action/impl/create); answers its id",
        &[
            ("action_id", true, "an existing action"),
            ("type", true, "e.g. ansible"),
            (
                "template",
                true,
                "{\"action\": {\"module\": ..., \"args\": ...}}",
            ),
        ],
    ),
    (
        "/actimpl/update/{id}",
        "action implementations",
        "Update an action implementation",
        &[
            ("action_id", false, ""),
            ("type", false, ""),
            ("template", false, ""),
        ],
    ),
    (
        "/actimpl/delete/{id}",
        "action implementations",
        "Delete an action implementation",
        &NO_PARAMS,
    ),
    (
        "/actimpl/{id}",
        "action implementations",
        "Read an action implementation",
        &NO_PARAMS,
    ),
    (
        "/remote_step/list",
        "remote steps",
        "List remote steps",
        &SEED_PAGE,
    ),
    (
        "/remote_step/create",
        "remote steps",
        "Create a remote step; answers its id",
        &[
            ("name", true, "unique, not a built-in step name"),
            ("desc", false, ""),
            ("actions", true, "a list of existing action names"),
        ],
    ),
    (
        "/remote_step/update/{id}",
        "remote steps",
        "Update a remote step",
        &[
            ("name", false, ""),
            ("desc", false, ""),
            ("actions", false, ""),
        ],
    ),
    (
        "/remote_step/delete/{id}",
        "remote steps",
        "Delete a remote step",
        &NO_PARAMS,
    ),
    (
        "/remote_step/{id}",
        "remote steps",
        "Read a remote step",
        &NO_PARAMS,
    ),
    (
        "/task_tpl/list",
        "templates",
        "List templates (also /task/impl/list)",
        &SEED_PAGE,
    ),
    (
        "/task_tpl/create",
        "templates",
        "Create a template (also /task/impl/create); answers its id",
        &[
            ("name", true, ""),
            ("desc", false, ""),
            (
                "steps",
                true,
                "[{name, param_values, retry: {retry_times, ignore_error}}]",
            ),
        ],
    ),
    (
        "/task_tpl/update/{id}",
        "templates",
        "Update a template",
        &[
            ("name", false, ""),
            ("desc", false, ""),
            ("steps", false, ""),
        ],
    ),
    (
        "/task_tpl/delete/{id}",
        "templates",
        "Delete a template (also /task/impl/delete/{id})",
        &NO_PARAMS,
    ),
    ("/task_tpl/{id}", "templates", "Read a template", &NO_PARAMS),
    (
        "/task_step/list",
        "templates",
        "The built-in steps, then the remote steps, with their parameters",
        &SEED_PAGE,
    ),
    (
        "/task/create",
        "tasks",
        "Create a task from a template; answers its id. With an `Idempotency-Key` header, a retry \
         with the same key answers the task the first request created (header \
         `Idempotent-Replayed: true`) instead of creating another",
        &[
            ("template_id", true, "an existing template"),
            ("task_name", true, ""),
            (
                "opr_user",
                false,
                "accepted and ignored: the task records the verified caller (the token's subject)",
            ),
            (
                "cluster_id",
                false,
                "the cluster the task belongs to: creating and controlling it needs operator there",
            ),
            (
                "nodes",
                true,
                "a list of node objects ({\"ip\", \"vm_id\", ...}) or addresses",
            ),
            ("params", false, "the task's variables, an object"),
            ("pool_name", false, ""),
            ("max_ratio", false, "1 to 100, default 100"),
            ("max_num", false, "0 (no cap) or more"),
            ("timeout", false, "seconds, 0 = none"),
            ("auto", false, "true starts the task at once"),
            (
                "notify_url",
                false,
                "http(s) URL receiving {fid, state, node_id} events",
            ),
        ],
    ),
    (
        "/task/list",
        "tasks",
        "List tasks, newest first",
        &SEED_PAGE,
    ),
    ("/task/start", "tasks", "Start or resume a task", &ID),
    (
        "/task/pause",
        "tasks",
        "Pause a running task at the next step boundary",
        &ID,
    ),
    ("/task/stop", "tasks", "Stop a task for good", &ID),
    ("/task/{id}", "tasks", "Read a task", &NO_PARAMS),
    ("/task/{id}/detail", "tasks", "The task's nodes", &NO_PARAMS),
    (
        "/task/{id}/log",
        "tasks",
        "The task's log (also /task/flow/{id}/log)",
        &NO_PARAMS,
    ),
    ("/task/node/{id}/log", "tasks", "One node's log", &NO_PARAMS),
    kit::openapi::AUDIT_ROUTE,
];

fn build() -> Value {
    let paths = kit::openapi::seed_paths(ROUTES, &super::table());
    let info = kit::openapi::Info {
        service: crate::SERVICE,
        version: env!("CARGO_PKG_VERSION"),
        description: "Actions, action implementations, remote steps, templates and tasks of \
                      the orchestration seed; see proto-docs/task-engine.md",
        tags: &[],
        readiness: "the database answers",
    };
    kit::openapi::document(&info, paths, Map::new())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_lists_the_methods_each_route_answers() {
        let table = super::super::table();
        assert_eq!(
            kit::openapi::method_mismatches(&super::build(), &table),
            Vec::<String>::new()
        );
    }
}
