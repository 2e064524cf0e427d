-- API tokens (issue #13): long-lived JWTs of the issuer for scripts and CI. Only the SHA-256
-- of a token is kept; `jti` is the id verifiers check against the revoked list.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jti TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    last_used_ms BIGINT NULL,
    revoked_ms BIGINT NULL,
    revoked_by TEXT NULL
);
CREATE INDEX api_tokens_owner ON api_tokens (owner);
