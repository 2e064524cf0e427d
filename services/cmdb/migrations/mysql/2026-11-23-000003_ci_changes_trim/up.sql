-- Row 2 of ci_change_seq: the change sequence up to which ci_changes has been trimmed. A
-- process whose index is older than that cannot catch up from the log and rebuilds instead.
INSERT INTO ci_change_seq (id, value) VALUES (2, 0);
