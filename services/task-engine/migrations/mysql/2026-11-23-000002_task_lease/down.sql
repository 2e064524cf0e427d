DROP INDEX te_flows_lease ON te_flows;
ALTER TABLE te_flows DROP COLUMN lease_until;
ALTER TABLE te_flows DROP COLUMN owner;
