-- Times are milliseconds since the Unix epoch (BIGINT): one representation on both backends,
-- and fine enough for sub-second session expiry.
CREATE TABLE users (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username VARCHAR(64) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL,
    created_ms BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Only the SHA-256 of a session key is stored: a copy of the table opens no session.
CREATE TABLE sessions (
    key_hash CHAR(64) NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    INDEX sessions_user (user_id),
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE images (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE,
    summary TEXT NULL,
    created_ms BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The host-pool driver's inventory; `used` counts leased slots and never passes `capacity`.
CREATE TABLE hosts (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    address VARCHAR(255) NOT NULL UNIQUE,
    ssh_port INT NOT NULL,
    capacity INT NOT NULL,
    used INT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL,
    CHECK (used >= 0 AND used <= capacity)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Deleted instances stay (status 100, host released) so that ids are never reused.
CREATE TABLE instances (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    image_id BIGINT NOT NULL,
    name VARCHAR(255) NOT NULL,
    summary TEXT NULL,
    status INT NOT NULL,
    host_id BIGINT NULL,
    host_address VARCHAR(255) NULL,
    vdi_port INT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    INDEX instances_user (user_id, status, id),
    INDEX instances_host (host_id),
    FOREIGN KEY (user_id) REFERENCES users(id),
    FOREIGN KEY (image_id) REFERENCES images(id),
    FOREIGN KEY (host_id) REFERENCES hosts(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
