-- Trunks (outbound routes), queues with their members, campaigns with their assigned users,
-- dispositions with versioned forms, and disposition results. Times are Unix milliseconds.
-- Nested settings (rewrite rules, a campaign's dialer settings, schedule, retry rules,
-- webhook) are JSON kept as TEXT, validated by the store before they are written; what other
-- rows point at is a column with a foreign key.

-- The password is kept because the SIP client must answer digest challenges with it (HA1
-- depends on the realm the trunk sends); the API never returns it.
CREATE TABLE trunks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    host          TEXT    NOT NULL,
    port          INTEGER NOT NULL,
    transport     TEXT    NOT NULL CHECK (transport IN ('udp', 'tcp')),
    username      TEXT,
    password      TEXT,
    caller_id     TEXT,
    rewrite_rules TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE queues (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT    NOT NULL UNIQUE,
    strategy               TEXT    NOT NULL CHECK (strategy IN ('longest-idle', 'fewest-calls', 'round-robin', 'ring-all', 'skill-based')),
    ring_timeout_secs      INTEGER NOT NULL,
    max_wait_secs          INTEGER NOT NULL,
    max_length             INTEGER NOT NULL,
    wrap_up_secs           INTEGER NOT NULL,
    auto_pause_after_misses INTEGER NOT NULL,
    overflow_queue_id      INTEGER REFERENCES queues (id),
    overflow_flow_id       TEXT    REFERENCES flows (id),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);

CREATE TABLE queue_members (
    queue_id    INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    skill_level INTEGER NOT NULL,
    penalty     INTEGER NOT NULL,
    PRIMARY KEY (queue_id, user_id)
);
CREATE INDEX queue_members_user ON queue_members (user_id);

CREATE TABLE campaigns (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL CHECK (kind IN ('inbound', 'manual', 'preview', 'dialer')),
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'finished')),
    contact_list_id INTEGER REFERENCES contact_lists (id),
    trunk_id        INTEGER REFERENCES trunks (id),
    queue_id        INTEGER REFERENCES queues (id),
    flow_id         TEXT    REFERENCES flows (id),
    settings        TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE campaign_users (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    role        TEXT    NOT NULL CHECK (role IN ('supervisor', 'agent')),
    PRIMARY KEY (campaign_id, user_id, role)
);
CREATE INDEX campaign_users_user ON campaign_users (user_id);

-- A disposition's form is versioned: editing a form that results already used adds a
-- version (results keep pointing at theirs); `form_version` is the current one.
CREATE TABLE dispositions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    name         TEXT    NOT NULL,
    positive     INTEGER NOT NULL,
    form_version INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (campaign_id, name)
);

CREATE TABLE disposition_forms (
    disposition_id INTEGER NOT NULL REFERENCES dispositions (id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    fields         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (disposition_id, version)
);

-- One result per call and campaign. `call_id` is not a foreign key: an agent dispositions
-- during wrap-up, before the call record (written in batches) may exist.
CREATE TABLE disposition_results (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id        TEXT    NOT NULL,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id),
    agent_id       INTEGER NOT NULL REFERENCES users (id),
    disposition_id INTEGER NOT NULL REFERENCES dispositions (id),
    form_version   INTEGER,
    contact_id     INTEGER,
    form_values    TEXT    NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL,
    UNIQUE (call_id, campaign_id)
);
CREATE INDEX disposition_results_campaign ON disposition_results (campaign_id, id);
CREATE INDEX disposition_results_disposition ON disposition_results (disposition_id);
