-- Owner and business names are kept on each row as well (the seed returns both id and name),
-- so reads need no join beyond the server's ip.
CREATE TABLE owners (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE businesses (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(255) NOT NULL UNIQUE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE servers (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ip VARCHAR(45) NOT NULL UNIQUE,
    name VARCHAR(255) NOT NULL DEFAULT '',
    os VARCHAR(255) NOT NULL DEFAULT '',
    stat INT NOT NULL DEFAULT 1,
    owner_id BIGINT NULL,
    owner_name VARCHAR(255) NOT NULL DEFAULT '',
    online_date DATETIME NOT NULL,
    INDEX servers_stat (stat, id),
    FOREIGN KEY (owner_id) REFERENCES owners(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE instances (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    server_id BIGINT NOT NULL,
    port INT NOT NULL,
    name VARCHAR(255) NOT NULL DEFAULT '',
    level VARCHAR(255) NOT NULL DEFAULT '',
    stat INT NOT NULL DEFAULT 1,
    business_id BIGINT NULL,
    business VARCHAR(255) NOT NULL DEFAULT '',
    owner_id BIGINT NULL,
    owner VARCHAR(255) NOT NULL DEFAULT '',
    db_type VARCHAR(255) NOT NULL DEFAULT '',
    ha_type VARCHAR(255) NOT NULL DEFAULT '',
    online_date DATETIME NOT NULL,
    UNIQUE KEY instances_server_port (server_id, port),
    INDEX instances_stat (stat, id),
    FOREIGN KEY (server_id) REFERENCES servers(id),
    FOREIGN KEY (business_id) REFERENCES businesses(id),
    FOREIGN KEY (owner_id) REFERENCES owners(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE dbs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    instance_id BIGINT NOT NULL,
    name VARCHAR(64) NOT NULL,
    level VARCHAR(255) NOT NULL DEFAULT '',
    stat INT NOT NULL DEFAULT 1,
    business_id BIGINT NULL,
    business VARCHAR(255) NOT NULL DEFAULT '',
    owner_id BIGINT NULL,
    owner_name VARCHAR(255) NOT NULL DEFAULT '',
    online_date DATETIME NOT NULL,
    UNIQUE KEY dbs_instance_name (instance_id, name),
    INDEX dbs_stat (stat, id),
    FOREIGN KEY (instance_id) REFERENCES instances(id),
    FOREIGN KEY (business_id) REFERENCES businesses(id),
    FOREIGN KEY (owner_id) REFERENCES owners(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE audit_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at DATETIME NOT NULL,
    model VARCHAR(255) NOT NULL,
    action VARCHAR(16) NOT NULL,
    entity VARCHAR(16) NOT NULL,
    target VARCHAR(400) NOT NULL,
    old_value TEXT NULL,
    new_value TEXT NULL,
    request_id VARCHAR(128) NOT NULL,
    INDEX audit_log_at (at),
    INDEX audit_log_target (target)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
