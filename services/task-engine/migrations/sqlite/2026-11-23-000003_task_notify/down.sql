ALTER TABLE te_flows DROP COLUMN notify_url;
