-- The cluster a task belongs to (set at creation by the orchestrator; NULL: none). Who may
-- control a task is decided on it: an operator of that cluster, or one platform-wide.
ALTER TABLE te_flows ADD COLUMN cluster_id BIGINT NULL;
CREATE INDEX te_flows_cluster ON te_flows (cluster_id);
