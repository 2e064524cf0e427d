-- The journal of a flow being started: which nodes it created or marked, and what they were
-- before. Written with the marks, deleted when the task is recorded (or the marks undone), so
-- an orchestrator stopped in between leaves a record reconciliation can undo.
CREATE TABLE oc_marks (
    node_id BIGINT NOT NULL PRIMARY KEY,
    created INTEGER NOT NULL,
    status INTEGER NOT NULL,
    step TEXT NOT NULL,
    marked_at BIGINT NOT NULL
);
CREATE INDEX oc_marks_at ON oc_marks (marked_at);
