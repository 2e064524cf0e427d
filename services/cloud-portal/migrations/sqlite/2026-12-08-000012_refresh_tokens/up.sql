-- Refresh tokens of the issuer's password grant (RFC 6749 section 6), kept as SHA-256 hex.
-- Each is used once: redeeming it marks it used and gives a new one; a used one presented again
-- ends every refresh token of its user (it was stolen or replayed).
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
