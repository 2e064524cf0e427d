-- Flows: registry targets, node states, the tasks this orchestrator started, schedules.
-- A pending node has no IP yet, so `ip` becomes nullable (UNIQUE still holds for the others).
ALTER TABLE oc_nodes MODIFY ip VARCHAR(64) NULL;
ALTER TABLE oc_nodes ADD COLUMN step VARCHAR(255) NOT NULL DEFAULT '';
ALTER TABLE oc_nodes ADD COLUMN tag VARCHAR(1024) NOT NULL DEFAULT '';
ALTER TABLE oc_nodes ADD COLUMN task_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX oc_nodes_task ON oc_nodes (task_id);

CREATE TABLE oc_sd (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    zkidc VARCHAR(255) NOT NULL,
    service VARCHAR(1024) NOT NULL,
    port INT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oc_tasks (
    fid BIGINT NOT NULL PRIMARY KEY,
    pool_id BIGINT NOT NULL,
    kind VARCHAR(16) NOT NULL,
    state VARCHAR(16) NOT NULL,
    tag VARCHAR(1024) NOT NULL,
    created BIGINT NOT NULL,
    INDEX oc_tasks_state (state)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oc_schedules (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    pool_id BIGINT NOT NULL,
    kind VARCHAR(16) NOT NULL,
    exec_type VARCHAR(32) NOT NULL,
    depend_items TEXT NOT NULL,
    CONSTRAINT oc_schedules_pool FOREIGN KEY (pool_id) REFERENCES oc_pools (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oc_cron_items (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    schedule_id BIGINT NOT NULL,
    pos INT NOT NULL,
    week_day INT NOT NULL,
    at_time VARCHAR(5) NOT NULL,
    instance_num INT NOT NULL,
    concurr_ratio INT NOT NULL,
    concurr_num INT NOT NULL,
    ignored BOOLEAN NOT NULL,
    last_fired BIGINT NOT NULL,
    CONSTRAINT oc_cron_items_schedule FOREIGN KEY (schedule_id) REFERENCES oc_schedules (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
