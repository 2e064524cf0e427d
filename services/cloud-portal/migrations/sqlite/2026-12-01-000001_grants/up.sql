-- Roles held on single clusters (issue #13): the embedded issuer puts a user's grants in the
-- `grants` claim of their tokens. Keyed by the user's id, not their name, so that a user made
-- again under a removed user's name does not inherit the removed user's grants.
-- `granted_by` is the verified subject of the admin who granted it.
CREATE TABLE grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator')),
    cluster_id BIGINT NOT NULL CHECK (cluster_id > 0),
    granted_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (user_id, role, cluster_id)
);
