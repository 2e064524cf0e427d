-- Owner and business names are kept on each row as well (the seed returns both id and name),
-- so reads need no join beyond the server's ip.
CREATE TABLE owners (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE businesses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE servers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ip TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    os TEXT NOT NULL DEFAULT '',
    stat INTEGER NOT NULL DEFAULT 1,
    owner_id BIGINT NULL REFERENCES owners(id),
    owner_name TEXT NOT NULL DEFAULT '',
    online_date TIMESTAMP NOT NULL
);
CREATE INDEX servers_stat ON servers(stat, id);

CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id BIGINT NOT NULL REFERENCES servers(id),
    port INTEGER NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    level TEXT NOT NULL DEFAULT '',
    stat INTEGER NOT NULL DEFAULT 1,
    business_id BIGINT NULL REFERENCES businesses(id),
    business TEXT NOT NULL DEFAULT '',
    owner_id BIGINT NULL REFERENCES owners(id),
    owner TEXT NOT NULL DEFAULT '',
    db_type TEXT NOT NULL DEFAULT '',
    ha_type TEXT NOT NULL DEFAULT '',
    online_date TIMESTAMP NOT NULL,
    UNIQUE (server_id, port)
);
CREATE INDEX instances_stat ON instances(stat, id);

CREATE TABLE dbs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id BIGINT NOT NULL REFERENCES instances(id),
    name TEXT NOT NULL,
    level TEXT NOT NULL DEFAULT '',
    stat INTEGER NOT NULL DEFAULT 1,
    business_id BIGINT NULL REFERENCES businesses(id),
    business TEXT NOT NULL DEFAULT '',
    owner_id BIGINT NULL REFERENCES owners(id),
    owner_name TEXT NOT NULL DEFAULT '',
    online_date TIMESTAMP NOT NULL,
    UNIQUE (instance_id, name)
);
CREATE INDEX dbs_stat ON dbs(stat, id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    model TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    target TEXT NOT NULL,
    old_value TEXT NULL,
    new_value TEXT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_target ON audit_log(target);
