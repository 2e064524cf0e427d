-- JSON documents (params, templates, steps, nodes) are kept as text: the service reads and
-- writes them whole. Times are unix seconds. Table names carry a `te_` prefix so none is a
-- reserved word on either backend.
CREATE TABLE te_actions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(191) NOT NULL UNIQUE,
    descr LONGTEXT NOT NULL,
    params LONGTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE te_action_impls (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    action_id BIGINT NOT NULL,
    impl_type VARCHAR(64) NOT NULL,
    template LONGTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX te_action_impls_action ON te_action_impls (action_id);

CREATE TABLE te_remote_steps (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(191) NOT NULL UNIQUE,
    descr LONGTEXT NOT NULL,
    actions LONGTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE te_templates (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name LONGTEXT NOT NULL,
    descr LONGTEXT NOT NULL,
    steps LONGTEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE te_flows (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    template_id BIGINT NOT NULL,
    template_name LONGTEXT NOT NULL,
    task_name LONGTEXT NOT NULL,
    pool_name LONGTEXT NOT NULL,
    state INT NOT NULL,
    steps LONGTEXT NOT NULL,
    params LONGTEXT NOT NULL,
    max_num BIGINT NOT NULL,
    max_ratio BIGINT NOT NULL,
    timeout_secs BIGINT NOT NULL,
    auto_start BOOLEAN NOT NULL,
    batch_size BIGINT NOT NULL,
    batch_count BIGINT NOT NULL,
    opr_user LONGTEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX te_flows_template ON te_flows (template_id, state);

CREATE TABLE te_flow_nodes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    fid BIGINT NOT NULL,
    ip VARCHAR(255) NOT NULL,
    vars LONGTEXT NOT NULL,
    state INT NOT NULL,
    step_index BIGINT NOT NULL,
    step_states LONGTEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    vm_id VARCHAR(255) NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX te_flow_nodes_flow ON te_flow_nodes (fid, id);

CREATE TABLE te_flow_logs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    fid BIGINT NOT NULL,
    batch_id BIGINT NOT NULL,
    node_id BIGINT NULL,
    message LONGTEXT NOT NULL,
    ctime BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX te_flow_logs_flow ON te_flow_logs (fid, id);
CREATE INDEX te_flow_logs_node ON te_flow_logs (node_id, id);

-- One row that every write of the catalog (and every task creation) updates first: the row
-- lock serializes those transactions on MySQL as SQLite's single writer does, so a check
-- such as "no remote step uses this action" stays true until the transaction commits.
CREATE TABLE te_catalog_lock (
    id BIGINT NOT NULL PRIMARY KEY,
    bumps BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO te_catalog_lock (id, bumps) VALUES (1, 0);
