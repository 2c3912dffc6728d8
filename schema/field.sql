-- field.sql - the device database, schema version 1.
--
-- The store keeps every signed version exactly as signed (body + sig) and
-- never updates or deletes one. The other columns of `versions` repeat
-- fields of the body for indexing; `field verify` re-checks that they agree
-- with the signed bytes. `parents` and `heads` are derived from the bodies
-- and kept in the same transaction as the version that changes them.
--
-- Applied by field/store.c inside one transaction, which then sets
-- PRAGMA user_version = 1. A later schema version adds a migration file
-- (field-002.sql, ...) and never edits this one.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE versions (
    seq           INTEGER PRIMARY KEY,      -- local arrival order
    hash          TEXT NOT NULL UNIQUE,     -- BLAKE2b-256 of body, hex
    record        TEXT NOT NULL,
    author        TEXT NOT NULL,            -- device public key, hex
    dseq          INTEGER NOT NULL,
    prev          TEXT,                     -- NULL when dseq = 1
    hlc_ms        INTEGER NOT NULL,
    hlc_count     INTEGER NOT NULL,
    template_id   TEXT NOT NULL,
    template_hash TEXT NOT NULL,
    subject       TEXT NOT NULL,
    status        TEXT NOT NULL,
    body          BLOB NOT NULL,            -- canonical bytes as signed
    sig           BLOB NOT NULL,            -- Ed25519, 64 bytes
    stored_ms     INTEGER NOT NULL          -- when this device stored it
);
CREATE INDEX versions_record ON versions (record, seq);
CREATE INDEX versions_author ON versions (author, dseq);

CREATE TABLE parents (
    child  TEXT NOT NULL,
    parent TEXT NOT NULL,
    PRIMARY KEY (child, parent)
) WITHOUT ROWID;
CREATE INDEX parents_parent ON parents (parent);

-- Versions of a record that no stored version names as a parent.
CREATE TABLE heads (
    record TEXT NOT NULL,
    hash   TEXT NOT NULL,
    PRIMARY KEY (record, hash)
) WITHOUT ROWID;

-- Checklist templates this device can fill, by the hash of their
-- canonical JSON; several versions of one id may be installed.
CREATE TABLE templates (
    hash     TEXT PRIMARY KEY,
    id       TEXT NOT NULL,
    body     BLOB NOT NULL,
    added_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX templates_id ON templates (id, added_ms);
