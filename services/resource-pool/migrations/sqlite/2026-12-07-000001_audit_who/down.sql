DROP INDEX audit_log_who_at;
ALTER TABLE audit_log DROP COLUMN who;
