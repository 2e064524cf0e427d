-- The Idempotency-Key of a task creation: SHA-256 (hex) of the creator and the key, and the
-- task it created. A retry with the same key finds the task instead of creating a second.
CREATE TABLE te_flow_keys (
    digest CHAR(64) NOT NULL PRIMARY KEY,
    fid BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
