-- Roles held on single clusters (issue #13): the embedded issuer puts a user's grants in the
-- `grants` claim of their tokens. Keyed by the user's id, not their name, so that a user made
-- again under a removed user's name does not inherit the removed user's grants.
-- `granted_by` is the verified subject of the admin who granted it.
CREATE TABLE grants (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    role VARCHAR(16) NOT NULL,
    cluster_id BIGINT NOT NULL,
    granted_by VARCHAR(255) NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE KEY grants_user_role_cluster (user_id, role, cluster_id),
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
    CHECK (role IN ('viewer', 'operator')),
    CHECK (cluster_id > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
