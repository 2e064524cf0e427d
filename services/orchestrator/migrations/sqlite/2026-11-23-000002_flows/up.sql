-- Flows: registry targets, node states, the tasks this orchestrator started, schedules.
-- A pending node has no IP yet, so `ip` becomes nullable (UNIQUE still holds for the others);
-- SQLite cannot change a column, hence the copy.
CREATE TABLE oc_nodes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    pool_id BIGINT NOT NULL REFERENCES oc_pools (id),
    ip VARCHAR(64) UNIQUE,
    vm_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    node_type TEXT NOT NULL,
    step TEXT NOT NULL DEFAULT '',
    tag TEXT NOT NULL DEFAULT '',
    task_id BIGINT NOT NULL DEFAULT 0
);
INSERT INTO oc_nodes_new (id, pool_id, ip, vm_id, status, node_type)
    SELECT id, pool_id, ip, vm_id, status, node_type FROM oc_nodes;
DROP TABLE oc_nodes;
ALTER TABLE oc_nodes_new RENAME TO oc_nodes;
CREATE INDEX oc_nodes_pool ON oc_nodes (pool_id);
CREATE INDEX oc_nodes_task ON oc_nodes (task_id);

CREATE TABLE oc_sd (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    zkidc TEXT NOT NULL,
    service TEXT NOT NULL,
    port INTEGER NOT NULL
);

CREATE TABLE oc_tasks (
    fid BIGINT PRIMARY KEY NOT NULL,
    pool_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    tag TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX oc_tasks_state ON oc_tasks (state);

CREATE TABLE oc_schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    pool_id BIGINT NOT NULL REFERENCES oc_pools (id),
    kind TEXT NOT NULL,
    exec_type TEXT NOT NULL,
    depend_items TEXT NOT NULL
);
CREATE INDEX oc_schedules_pool ON oc_schedules (pool_id);

CREATE TABLE oc_cron_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    schedule_id BIGINT NOT NULL REFERENCES oc_schedules (id),
    pos INTEGER NOT NULL,
    week_day INTEGER NOT NULL,
    at_time TEXT NOT NULL,
    instance_num INTEGER NOT NULL,
    concurr_ratio INTEGER NOT NULL,
    concurr_num INTEGER NOT NULL,
    ignored BOOLEAN NOT NULL,
    last_fired BIGINT NOT NULL
);
CREATE INDEX oc_cron_items_schedule ON oc_cron_items (schedule_id);
