-- The change log the in-memory search index of every cmdb process follows (see
-- proto-docs/cmdb.md, "Search"). Each transaction that changes CIs ends by bumping the one
-- row of ci_change_seq and writing one ci_changes row per CI it touched under the new value;
-- ci_id 0 asks every process to rebuild its index from the tables. The row lock the bump
-- takes makes these transactions commit in sequence order, so a reader that sees value N
-- sees every change up to N.
CREATE TABLE ci_change_seq (
    id BIGINT NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO ci_change_seq (id, value) VALUES (1, 0);

CREATE TABLE ci_changes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    seq BIGINT NOT NULL,
    ci_id BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX ci_changes_seq ON ci_changes (seq);
