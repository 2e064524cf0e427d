DROP TABLE oc_nodes;
DROP TABLE oc_pools;
DROP TABLE oc_services;
DROP TABLE oc_clusters;
