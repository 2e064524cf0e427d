-- Times are milliseconds since the Unix epoch (BIGINT): one representation on both backends,
-- and fine enough for sub-second session expiry.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- Only the SHA-256 of a session key is stored: a copy of the table opens no session.
CREATE TABLE sessions (
    key_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    summary TEXT,
    created_ms BIGINT NOT NULL
);

-- The host-pool driver's inventory; `used` counts leased slots and never passes `capacity`.
CREATE TABLE hosts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL UNIQUE,
    ssh_port INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL,
    CHECK (used >= 0 AND used <= capacity)
);

-- Deleted instances stay (status 100, host released) so that ids are never reused.
CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    image_id BIGINT NOT NULL REFERENCES images(id),
    name TEXT NOT NULL,
    summary TEXT,
    status INTEGER NOT NULL,
    host_id BIGINT REFERENCES hosts(id),
    host_address TEXT,
    vdi_port INTEGER,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX instances_user ON instances (user_id, status, id);
CREATE INDEX instances_host ON instances (host_id);
