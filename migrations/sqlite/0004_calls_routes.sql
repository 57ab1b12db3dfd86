-- Call records (one row per call, with the executed path) and inbound routes (the number
-- dialled -> the flow that answers it). Times are Unix milliseconds.
CREATE TABLE calls (
    id            TEXT    PRIMARY KEY,
    direction     TEXT    NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    caller        TEXT    NOT NULL,
    callee        TEXT    NOT NULL,
    flow_id       TEXT,
    flow_version  INTEGER,
    started_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    ended_at      INTEGER NOT NULL,
    end_reason    TEXT    NOT NULL,
    disposition   TEXT,
    trace         TEXT    NOT NULL,
    variables     TEXT    NOT NULL,
    surveys       TEXT    NOT NULL
);
CREATE INDEX calls_started_at ON calls (started_at);

CREATE TABLE inbound_routes (
    number     TEXT    PRIMARY KEY,
    flow_id    TEXT    NOT NULL REFERENCES flows (id),
    created_at INTEGER NOT NULL
);
