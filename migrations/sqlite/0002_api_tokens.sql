-- API tokens for integrations (`Authorization: Bearer …`). Only the SHA-256 of a token is
-- kept; the token itself is shown once, when it is created. Times are Unix milliseconds.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    created_by   INTEGER REFERENCES users (id),
    last_used_at INTEGER,
    revoked_at   INTEGER
);
