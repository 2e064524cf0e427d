DROP INDEX audit_log_who_at ON audit_log;
ALTER TABLE audit_log DROP COLUMN who;
