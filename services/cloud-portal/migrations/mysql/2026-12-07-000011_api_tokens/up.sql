-- API tokens (issue #13): long-lived JWTs of the issuer for scripts and CI. Only the SHA-256
-- of a token is kept; `jti` is the id verifiers check against the revoked list.
CREATE TABLE api_tokens (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    jti VARCHAR(64) NOT NULL UNIQUE,
    owner VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    token_hash CHAR(64) NOT NULL,
    roles VARCHAR(255) NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    last_used_ms BIGINT NULL,
    revoked_ms BIGINT NULL,
    revoked_by VARCHAR(255) NULL,
    INDEX api_tokens_owner (owner)
);
