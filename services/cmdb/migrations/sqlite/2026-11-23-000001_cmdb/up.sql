-- Times are unix seconds in BIGINT columns: diesel binds its Timestamp type as MySQL's
-- TIMESTAMP, which ends in 2038, so later dates would silently compare wrong on MariaDB.
--
-- The CI model. Values live in one table per value type so that search compares numbers as
-- numbers and dates as dates, each with an (attr_id, value) index for the search and a
-- (ci_id, attr_id) index for reading a CI back.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    api_key TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE attributes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    alias TEXT NOT NULL UNIQUE,
    value_type TEXT NOT NULL,
    is_choice BOOLEAN NOT NULL DEFAULT 0,
    -- JSON array of the allowed values, as text.
    choice_value TEXT NOT NULL DEFAULT '[]',
    is_multivalue BOOLEAN NOT NULL DEFAULT 0,
    is_uniq BOOLEAN NOT NULL DEFAULT 0
);

CREATE TABLE ci_types (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    alias TEXT NOT NULL,
    unique_attr_id BIGINT NOT NULL REFERENCES attributes(id),
    icon_url TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT 1
);

CREATE TABLE ci_type_attributes (
    type_id BIGINT NOT NULL REFERENCES ci_types(id),
    attr_id BIGINT NOT NULL REFERENCES attributes(id),
    is_required BOOLEAN NOT NULL DEFAULT 0,
    PRIMARY KEY (type_id, attr_id)
);
CREATE INDEX ci_type_attributes_attr ON ci_type_attributes (attr_id);

CREATE TABLE cis (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type_id BIGINT NOT NULL REFERENCES ci_types(id)
);
CREATE INDEX cis_type ON cis (type_id, id);

CREATE TABLE ci_values_int (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ci_id BIGINT NOT NULL REFERENCES cis(id),
    attr_id BIGINT NOT NULL REFERENCES attributes(id),
    value BIGINT NOT NULL
);
CREATE INDEX ci_values_int_search ON ci_values_int (attr_id, value, ci_id);
CREATE INDEX ci_values_int_ci ON ci_values_int (ci_id, attr_id);

CREATE TABLE ci_values_float (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ci_id BIGINT NOT NULL REFERENCES cis(id),
    attr_id BIGINT NOT NULL REFERENCES attributes(id),
    value DOUBLE NOT NULL
);
CREATE INDEX ci_values_float_search ON ci_values_float (attr_id, value, ci_id);
CREATE INDEX ci_values_float_ci ON ci_values_float (ci_id, attr_id);

CREATE TABLE ci_values_text (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ci_id BIGINT NOT NULL REFERENCES cis(id),
    attr_id BIGINT NOT NULL REFERENCES attributes(id),
    value TEXT NOT NULL
);
CREATE INDEX ci_values_text_search ON ci_values_text (attr_id, value, ci_id);
CREATE INDEX ci_values_text_ci ON ci_values_text (ci_id, attr_id);

CREATE TABLE ci_values_datetime (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ci_id BIGINT NOT NULL REFERENCES cis(id),
    attr_id BIGINT NOT NULL REFERENCES attributes(id),
    value BIGINT NOT NULL
);
CREATE INDEX ci_values_datetime_search ON ci_values_datetime (attr_id, value, ci_id);
CREATE INDEX ci_values_datetime_ci ON ci_values_datetime (ci_id, attr_id);

-- One row per value of a unique attribute, in canonical text: the primary key makes the
-- database itself refuse a second CI with the same value, even between racing writers.
CREATE TABLE ci_unique_values (
    attr_id BIGINT NOT NULL REFERENCES attributes(id),
    value TEXT NOT NULL,
    ci_id BIGINT NOT NULL REFERENCES cis(id),
    PRIMARY KEY (attr_id, value)
);
CREATE INDEX ci_unique_values_ci ON ci_unique_values (ci_id);

CREATE TABLE ci_type_relations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id BIGINT NOT NULL REFERENCES ci_types(id),
    child_id BIGINT NOT NULL REFERENCES ci_types(id),
    relation_type TEXT NOT NULL,
    UNIQUE (parent_id, child_id)
);
CREATE INDEX ci_type_relations_child ON ci_type_relations (child_id);

CREATE TABLE ci_relations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_ci_id BIGINT NOT NULL REFERENCES cis(id),
    second_ci_id BIGINT NOT NULL REFERENCES cis(id),
    relation_type TEXT NOT NULL,
    more BIGINT NULL,
    UNIQUE (first_ci_id, second_ci_id)
);
CREATE INDEX ci_relations_second ON ci_relations (second_ci_id);

CREATE TABLE history_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL,
    username TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX history_records_at ON history_records (created_at);
CREATE INDEX history_records_user ON history_records (username, created_at);

CREATE TABLE history_attrs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id BIGINT NOT NULL REFERENCES history_records(id),
    ci_id BIGINT NOT NULL,
    attr_id BIGINT NOT NULL,
    attr_name TEXT NOT NULL,
    operate TEXT NOT NULL,
    old_value TEXT NULL,
    new_value TEXT NULL
);
CREATE INDEX history_attrs_record ON history_attrs (record_id);

CREATE TABLE history_relations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id BIGINT NOT NULL REFERENCES history_records(id),
    cr_id BIGINT NOT NULL,
    first_ci_id BIGINT NOT NULL,
    second_ci_id BIGINT NOT NULL,
    relation_type TEXT NOT NULL,
    operate TEXT NOT NULL
);
CREATE INDEX history_relations_record ON history_relations (record_id);
