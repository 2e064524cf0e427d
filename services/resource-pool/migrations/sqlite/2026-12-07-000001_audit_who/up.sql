-- The verified subject of the access token that made each change (issue #13); `model` stays
-- the seed's free text.
ALTER TABLE audit_log ADD COLUMN who TEXT NOT NULL DEFAULT '-';
CREATE INDEX audit_log_who_at ON audit_log(who, at);
