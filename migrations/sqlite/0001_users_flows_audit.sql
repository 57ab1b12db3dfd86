-- Users, flows with published versions, and the audit log. Times are Unix milliseconds.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE flows (
    id               TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL,
    draft            TEXT,
    draft_updated_at INTEGER,
    created_at       INTEGER NOT NULL
);

CREATE TABLE flow_versions (
    flow_id      TEXT    NOT NULL REFERENCES flows (id),
    version      INTEGER NOT NULL,
    document     TEXT    NOT NULL,
    published_at INTEGER NOT NULL,
    published_by INTEGER REFERENCES users (id),
    PRIMARY KEY (flow_id, version)
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    user_id   INTEGER REFERENCES users (id),
    action    TEXT    NOT NULL,
    entity    TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    detail    TEXT
);
