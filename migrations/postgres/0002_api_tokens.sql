-- API tokens for integrations (`Authorization: Bearer …`). Only the SHA-256 of a token is
-- kept; the token itself is shown once, when it is created. Times are Unix milliseconds.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT      NOT NULL,
    user_id      BIGINT    NOT NULL REFERENCES users (id),
    role         TEXT      NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    token_hash   TEXT      NOT NULL UNIQUE,
    created_at   BIGINT    NOT NULL,
    created_by   BIGINT    REFERENCES users (id),
    last_used_at BIGINT,
    revoked_at   BIGINT
);
