-- JSON documents (params, templates, steps, nodes) are kept as text: the service reads and
-- writes them whole. Times are unix seconds. Table names carry a `te_` prefix so none is a
-- reserved word on either backend.
CREATE TABLE te_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    descr TEXT NOT NULL,
    params TEXT NOT NULL
);

CREATE TABLE te_action_impls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id BIGINT NOT NULL,
    impl_type TEXT NOT NULL,
    template TEXT NOT NULL
);
CREATE INDEX te_action_impls_action ON te_action_impls (action_id);

CREATE TABLE te_remote_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    descr TEXT NOT NULL,
    actions TEXT NOT NULL
);

CREATE TABLE te_templates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    descr TEXT NOT NULL,
    steps TEXT NOT NULL
);

CREATE TABLE te_flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    template_id BIGINT NOT NULL,
    template_name TEXT NOT NULL,
    task_name TEXT NOT NULL,
    pool_name TEXT NOT NULL,
    state INTEGER NOT NULL,
    steps TEXT NOT NULL,
    params TEXT NOT NULL,
    max_num BIGINT NOT NULL,
    max_ratio BIGINT NOT NULL,
    timeout_secs BIGINT NOT NULL,
    auto_start BOOLEAN NOT NULL,
    batch_size BIGINT NOT NULL,
    batch_count BIGINT NOT NULL,
    opr_user TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX te_flows_template ON te_flows (template_id, state);

CREATE TABLE te_flow_nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fid BIGINT NOT NULL,
    ip TEXT NOT NULL,
    vars TEXT NOT NULL,
    state INTEGER NOT NULL,
    step_index BIGINT NOT NULL,
    step_states TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    vm_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX te_flow_nodes_flow ON te_flow_nodes (fid, id);

CREATE TABLE te_flow_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fid BIGINT NOT NULL,
    batch_id BIGINT NOT NULL,
    node_id BIGINT NULL,
    message TEXT NOT NULL,
    ctime BIGINT NOT NULL
);
CREATE INDEX te_flow_logs_flow ON te_flow_logs (fid, id);
CREATE INDEX te_flow_logs_node ON te_flow_logs (node_id, id);

-- One row that every write of the catalog (and every task creation) updates first: the row
-- lock serializes those transactions on MySQL as SQLite's single writer does, so a check
-- such as "no remote step uses this action" stays true until the transaction commits.
CREATE TABLE te_catalog_lock (
    id BIGINT NOT NULL PRIMARY KEY,
    bumps BIGINT NOT NULL
);
INSERT INTO te_catalog_lock (id, bumps) VALUES (1, 0);
