-- The engine running a task and until when its claim holds (unix seconds); renewed while it
-- runs. A RUNNING task whose lease has expired is taken over by a live engine.
ALTER TABLE te_flows ADD COLUMN owner VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE te_flows ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX te_flows_lease ON te_flows (state, lease_until);
