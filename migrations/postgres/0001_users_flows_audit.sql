-- Users, flows with published versions, and the audit log. Times are Unix milliseconds.
-- Documents stay TEXT (not JSONB) so a flow is stored exactly as saved.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT      NOT NULL UNIQUE,
    display_name  TEXT      NOT NULL DEFAULT '',
    password_hash TEXT      NOT NULL,
    role          TEXT      NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    created_at    BIGINT    NOT NULL
);

CREATE TABLE flows (
    id               TEXT   PRIMARY KEY,
    name             TEXT   NOT NULL,
    draft            TEXT,
    draft_updated_at BIGINT,
    created_at       BIGINT NOT NULL
);

CREATE TABLE flow_versions (
    flow_id      TEXT   NOT NULL REFERENCES flows (id),
    version      BIGINT NOT NULL,
    document     TEXT   NOT NULL,
    published_at BIGINT NOT NULL,
    published_by BIGINT REFERENCES users (id),
    PRIMARY KEY (flow_id, version)
);

CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT    NOT NULL,
    user_id   BIGINT    REFERENCES users (id),
    action    TEXT      NOT NULL,
    entity    TEXT      NOT NULL,
    entity_id TEXT      NOT NULL,
    detail    TEXT
);
