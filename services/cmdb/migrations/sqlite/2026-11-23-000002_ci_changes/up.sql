-- The change log the in-memory search index of every cmdb process follows (see
-- proto-docs/cmdb.md, "Search"). Each transaction that changes CIs ends by bumping the one
-- row of ci_change_seq and writing one ci_changes row per CI it touched under the new value;
-- ci_id 0 asks every process to rebuild its index from the tables.
CREATE TABLE ci_change_seq (
    id INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO ci_change_seq (id, value) VALUES (1, 0);

CREATE TABLE ci_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq BIGINT NOT NULL,
    ci_id BIGINT NOT NULL
);
CREATE INDEX ci_changes_seq ON ci_changes (seq);
