DROP INDEX te_flows_cluster ON te_flows;
ALTER TABLE te_flows DROP COLUMN cluster_id;
