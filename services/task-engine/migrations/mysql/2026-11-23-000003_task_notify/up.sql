-- Where the engine POSTs the task's events (empty: nowhere).
ALTER TABLE te_flows ADD COLUMN notify_url VARCHAR(2048) NOT NULL DEFAULT '';
