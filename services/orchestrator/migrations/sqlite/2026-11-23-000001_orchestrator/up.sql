-- Clusters hold services, services hold pools, pools hold nodes. Deleting a parent that still
-- has children is refused by the service (and by the foreign keys). An IP is in one pool at most.
CREATE TABLE oc_clusters (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    descr TEXT NOT NULL,
    biz TEXT NOT NULL
);

CREATE TABLE oc_services (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    descr TEXT NOT NULL,
    service_type TEXT NOT NULL,
    docker_image TEXT NOT NULL,
    cluster_id BIGINT NOT NULL REFERENCES oc_clusters (id)
);
CREATE INDEX oc_services_cluster ON oc_services (cluster_id);

CREATE TABLE oc_pools (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    descr TEXT NOT NULL,
    vm_type BIGINT NOT NULL,
    sd_id BIGINT NOT NULL,
    service_id BIGINT NOT NULL REFERENCES oc_services (id),
    expand_tpl BIGINT NOT NULL,
    shrink_tpl BIGINT NOT NULL,
    deploy_tpl BIGINT NOT NULL
);
CREATE INDEX oc_pools_service ON oc_pools (service_id);

CREATE TABLE oc_nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    pool_id BIGINT NOT NULL REFERENCES oc_pools (id),
    ip VARCHAR(64) NOT NULL UNIQUE,
    vm_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    node_type TEXT NOT NULL
);
CREATE INDEX oc_nodes_pool ON oc_nodes (pool_id);
