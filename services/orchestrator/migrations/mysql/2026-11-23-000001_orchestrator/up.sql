-- Clusters hold services, services hold pools, pools hold nodes. Deleting a parent that still
-- has children is refused by the service (and by the foreign keys). An IP is in one pool at most.
CREATE TABLE oc_clusters (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name TEXT NOT NULL,
    descr TEXT NOT NULL,
    biz TEXT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oc_services (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name TEXT NOT NULL,
    descr TEXT NOT NULL,
    service_type TEXT NOT NULL,
    docker_image TEXT NOT NULL,
    cluster_id BIGINT NOT NULL,
    CONSTRAINT oc_services_cluster FOREIGN KEY (cluster_id) REFERENCES oc_clusters (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oc_pools (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name TEXT NOT NULL,
    descr TEXT NOT NULL,
    vm_type BIGINT NOT NULL,
    sd_id BIGINT NOT NULL,
    service_id BIGINT NOT NULL,
    expand_tpl BIGINT NOT NULL,
    shrink_tpl BIGINT NOT NULL,
    deploy_tpl BIGINT NOT NULL,
    CONSTRAINT oc_pools_service FOREIGN KEY (service_id) REFERENCES oc_services (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE oc_nodes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    pool_id BIGINT NOT NULL,
    ip VARCHAR(64) NOT NULL UNIQUE,
    vm_id TEXT NOT NULL,
    status INT NOT NULL,
    node_type VARCHAR(32) NOT NULL,
    CONSTRAINT oc_nodes_pool FOREIGN KEY (pool_id) REFERENCES oc_pools (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
