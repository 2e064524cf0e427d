DROP TABLE oc_cron_items;
DROP TABLE oc_schedules;
DROP TABLE oc_tasks;
DROP TABLE oc_sd;
CREATE TABLE oc_nodes_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    pool_id BIGINT NOT NULL REFERENCES oc_pools (id),
    ip VARCHAR(64) NOT NULL UNIQUE,
    vm_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    node_type TEXT NOT NULL
);
INSERT INTO oc_nodes_old (id, pool_id, ip, vm_id, status, node_type)
    SELECT id, pool_id, ip, vm_id, status, node_type FROM oc_nodes WHERE ip IS NOT NULL;
DROP TABLE oc_nodes;
ALTER TABLE oc_nodes_old RENAME TO oc_nodes;
CREATE INDEX oc_nodes_pool ON oc_nodes (pool_id);
