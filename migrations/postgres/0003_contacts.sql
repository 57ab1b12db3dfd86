-- Contact lists, contacts with several phone numbers each, and CSV imports. Times are Unix
-- milliseconds. Custom columns are a JSON object of strings kept as TEXT, as written (cast
-- to JSONB to query them); the list's column names a JSON array.
CREATE TABLE contact_lists (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    default_country TEXT    NOT NULL,
    duplicates      TEXT    NOT NULL CHECK (duplicates IN ('allow', 'avoid')),
    columns         TEXT    NOT NULL DEFAULT '[]',
    created_at      BIGINT  NOT NULL
);

CREATE TABLE contact_imports (
    id            BIGSERIAL PRIMARY KEY,
    list_id       BIGINT  NOT NULL REFERENCES contact_lists (id) ON DELETE CASCADE,
    source        TEXT    NOT NULL,
    mode          TEXT    NOT NULL CHECK (mode IN ('commit_good', 'all_or_nothing')),
    status        TEXT    NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    rows_read     BIGINT  NOT NULL DEFAULT 0,
    rows_imported BIGINT  NOT NULL DEFAULT 0,
    rows_rejected BIGINT  NOT NULL DEFAULT 0,
    error         TEXT,
    started_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    finished_at   BIGINT
);
CREATE INDEX contact_imports_list ON contact_imports (list_id, id);

CREATE TABLE contacts (
    id          BIGSERIAL PRIMARY KEY,
    list_id     BIGINT  NOT NULL REFERENCES contact_lists (id) ON DELETE CASCADE,
    import_id   BIGINT,
    source_line BIGINT,
    fields      TEXT    NOT NULL DEFAULT '{}',
    created_at  BIGINT  NOT NULL
);
CREATE INDEX contacts_list ON contacts (list_id, id);
-- `import_id` names the contact_imports row that brought the contact; it is not a foreign
-- key because a check per imported row costs more than it protects (only the import code
-- writes it).

-- One row per phone number of a contact: as typed and in E.164. `list_id` is repeated
-- here so that duplicate control is one index lookup.
CREATE TABLE contact_phones (
    contact_id BIGINT  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position   BIGINT  NOT NULL,
    list_id    BIGINT  NOT NULL,
    raw        TEXT    NOT NULL,
    e164       TEXT    NOT NULL,
    PRIMARY KEY (contact_id, position)
);
CREATE INDEX contact_phones_e164 ON contact_phones (list_id, e164);
