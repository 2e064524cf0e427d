-- The journal of a flow being started: which nodes it created or marked, and what they were
-- before. Written with the marks, deleted when the task is recorded (or the marks undone), so
-- an orchestrator stopped in between leaves a record reconciliation can undo.
CREATE TABLE oc_marks (
    node_id BIGINT NOT NULL PRIMARY KEY,
    created INT NOT NULL,
    status INT NOT NULL,
    step VARCHAR(255) NOT NULL,
    marked_at BIGINT NOT NULL,
    INDEX oc_marks_at (marked_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
