-- pg/server.sql - the central server's database on PostgreSQL
-- (server-stub/storage_pg.c), schema version 5.
--
-- The same tables, columns and meaning as the SQLite schema after all of
-- its files (schema/server.sql and server-002.sql .. server-005.sql: read
-- them for what each table is for), written as one current schema: a
-- PostgreSQL database is created new at version 5, so it has no history
-- to replay. Its version is the row schema_version in meta (SQLite keeps
-- it in PRAGMA user_version); a later version adds a file
-- schema/pg/server-006.sql that brings 5 to 6, and never edits this one.
--
-- What differs from SQLite, and why:
--   - Integers are bigint, blobs bytea, in_programme a boolean.
--   - Every text column sorts by bytes (COLLATE "C"), as SQLite's do: the
--     hex ranges of device_find, the order of units and records, and so
--     the answers, are the same on both back ends whatever the database's
--     locale.
--   - seq, audit ids and target ids come from identity columns. A number
--     is taken when a row is inserted and may commit after a greater one
--     taken by another transaction; storage_pg.c makes every writer hold
--     one advisory lock until it commits, so versions and threshold
--     revisions commit in seq order (docs/SERVER.md, "PostgreSQL").
--
-- Applied by storage_pg.c in one transaction when the database has no
-- meta table yet.

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE devices (
    pubkey      text COLLATE "C" PRIMARY KEY,
    inspector   text NOT NULL,
    role        text NOT NULL CHECK (role IN ('inspector', 'supervisor', 'admin')),
    enrolled_ms bigint NOT NULL,
    revoked_ms  bigint
);

CREATE TABLE device_scope (
    device text COLLATE "C" NOT NULL REFERENCES devices (pubkey),
    unit   text COLLATE "C" NOT NULL,
    PRIMARY KEY (device, unit)
);

CREATE TABLE enroll_codes (
    code_hash  text COLLATE "C" PRIMARY KEY,
    inspector  text NOT NULL,
    role       text NOT NULL CHECK (role IN ('inspector', 'supervisor', 'admin')),
    scope      text NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL,
    used_ms    bigint,
    used_by    text
);

CREATE TABLE units (
    code         text COLLATE "C" NOT NULL,
    name         text NOT NULL,
    kind         text COLLATE "C" NOT NULL DEFAULT '',
    parent       text COLLATE "C",
    valid_from   text COLLATE "C" NOT NULL,
    valid_to     text COLLATE "C",
    in_programme boolean NOT NULL DEFAULT true,
    merged_into  text COLLATE "C",
    PRIMARY KEY (code, valid_from)
);
CREATE INDEX units_parent ON units (parent);
CREATE INDEX units_merged ON units (merged_into);

CREATE TABLE targets (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit         text COLLATE "C" NOT NULL,
    tier         text COLLATE "C" NOT NULL,
    count        bigint NOT NULL CHECK (count >= 0),
    applies_from text COLLATE "C" NOT NULL,
    due          text COLLATE "C",
    source       text,
    loaded_ms    bigint NOT NULL,
    UNIQUE (unit, tier, applies_from)
);

CREATE TABLE templates (
    hash     text COLLATE "C" PRIMARY KEY,
    id       text COLLATE "C" NOT NULL,
    version  text COLLATE "C" NOT NULL,
    body     bytea NOT NULL,
    added_ms bigint NOT NULL
);

CREATE TABLE versions (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash          text COLLATE "C" NOT NULL UNIQUE,
    record        text COLLATE "C" NOT NULL,
    author        text COLLATE "C" NOT NULL,
    pusher        text COLLATE "C" NOT NULL,
    dseq          bigint NOT NULL,
    prev          text COLLATE "C",
    hlc_ms        bigint NOT NULL,
    hlc_count     bigint NOT NULL,
    template_id   text COLLATE "C" NOT NULL,
    template_hash text COLLATE "C" NOT NULL,
    subject       text COLLATE "C" NOT NULL,
    status        text COLLATE "C" NOT NULL,
    body          bytea NOT NULL,
    sig           bytea NOT NULL,
    received_ms   bigint NOT NULL,
    flag          text,
    ahead_ms      bigint
);
CREATE INDEX versions_record ON versions (record, seq);
CREATE INDEX versions_author ON versions (author, dseq);
CREATE INDEX versions_prev ON versions (prev);
CREATE INDEX versions_subject ON versions (subject, seq);

CREATE TABLE parents (
    child  text COLLATE "C" NOT NULL,
    parent text COLLATE "C" NOT NULL,
    PRIMARY KEY (child, parent)
);
CREATE INDEX parents_parent ON parents (parent);

CREATE TABLE heads (
    record text COLLATE "C" NOT NULL,
    hash   text COLLATE "C" NOT NULL,
    PRIMARY KEY (record, hash)
);

CREATE TABLE quarantine (
    hash        text COLLATE "C" PRIMARY KEY,
    author      text COLLATE "C" NOT NULL,
    pusher      text COLLATE "C" NOT NULL,
    reason      text COLLATE "C" NOT NULL,
    body        bytea NOT NULL,
    sig         bytea NOT NULL,
    received_ms bigint NOT NULL
);
CREATE INDEX quarantine_reason ON quarantine (reason);

CREATE TABLE quarantine_wait (
    hash   text COLLATE "C" NOT NULL,
    parent text COLLATE "C" NOT NULL,
    PRIMARY KEY (parent, hash)
);

CREATE TABLE audit (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms   bigint NOT NULL,
    kind    text COLLATE "C" NOT NULL,
    device  text COLLATE "C",
    subject text COLLATE "C",
    detail  text NOT NULL
);
CREATE INDEX audit_kind ON audit (kind, id);

CREATE TABLE threshold_revisions (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash          text COLLATE "C" NOT NULL UNIQUE,
    template_id   text COLLATE "C" NOT NULL,
    template_hash text COLLATE "C" NOT NULL,
    revision      bigint NOT NULL,
    valid_from    text COLLATE "C" NOT NULL,
    author        text COLLATE "C" NOT NULL,
    body          bytea NOT NULL,
    sig           bytea NOT NULL,
    received_ms   bigint NOT NULL,
    UNIQUE (template_hash, revision)
);

CREATE TABLE attachments (
    hash          text COLLATE "C" PRIMARY KEY,
    bytes         bigint NOT NULL,
    type          text NOT NULL,
    acked         bigint NOT NULL DEFAULT 0,
    last_chunk_ms bigint,
    stored_ms     bigint
);
CREATE INDEX attachments_partial ON attachments (last_chunk_ms)
    WHERE stored_ms IS NULL AND last_chunk_ms IS NOT NULL;

CREATE TABLE attachment_refs (
    hash     text COLLATE "C" NOT NULL,
    seq      bigint NOT NULL,
    bytes    bigint NOT NULL,
    type     text NOT NULL,
    taken    text,
    position text,
    PRIMARY KEY (hash, seq)
);
CREATE INDEX attachment_refs_seq ON attachment_refs (seq);

INSERT INTO meta (key, value) VALUES ('schema_version', '5');
