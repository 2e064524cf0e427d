DROP INDEX te_flows_cluster;
ALTER TABLE te_flows DROP COLUMN cluster_id;
