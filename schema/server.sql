-- server.sql - the central server's database (field-server), schema version 1.
--
-- Like the device store, the server keeps every signed version exactly as
-- signed (body + sig) and never updates or deletes one. `seq` is the server
-- order in which devices pull; `pusher` is the enrolled device that first
-- delivered the version (it may differ from `author`: any device may relay
-- versions signed by others). Heads and parents are derived from the bodies
-- in the same transaction as the version that changes them.
--
-- Applied by server-stub/storage_sqlite.c inside one transaction, which then
-- sets PRAGMA user_version = 1. A later schema version adds a migration
-- file (server-002.sql, ...) and never edits this one.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Enrolled devices, by Ed25519 public key (hex).
CREATE TABLE devices (
    pubkey      TEXT PRIMARY KEY,
    inspector   TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('inspector', 'supervisor', 'admin')),
    enrolled_ms INTEGER NOT NULL,
    revoked_ms  INTEGER                 -- NULL while the device may sync
) WITHOUT ROWID;

-- The administrative units a device may push and pull (with their
-- descendants in `units`).
CREATE TABLE device_scope (
    device TEXT NOT NULL REFERENCES devices (pubkey),
    unit   TEXT NOT NULL,
    PRIMARY KEY (device, unit)
) WITHOUT ROWID;

-- One-time enrollment codes. Only a hash of the code is kept, so a copy of
-- the database does not give away codes still unused.
CREATE TABLE enroll_codes (
    code_hash  TEXT PRIMARY KEY,
    inspector  TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('inspector', 'supervisor', 'admin')),
    scope      TEXT NOT NULL,           -- unit codes separated by spaces
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_ms    INTEGER,                 -- NULL until used
    used_by    TEXT                     -- the device that used it
) WITHOUT ROWID;

-- Administrative units (province, communes, villages ...): a tree by parent.
CREATE TABLE units (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    parent TEXT,                         -- NULL at the top
    level  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX units_parent ON units (parent);

-- Checklist templates, by the hash of their canonical JSON.
CREATE TABLE templates (
    hash     TEXT PRIMARY KEY,
    id       TEXT NOT NULL,
    version  TEXT NOT NULL,
    body     BLOB NOT NULL,
    added_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE versions (
    seq           INTEGER PRIMARY KEY,      -- server order
    hash          TEXT NOT NULL UNIQUE,     -- BLAKE2b-256 of body, hex
    record        TEXT NOT NULL,
    author        TEXT NOT NULL,            -- signing device, hex
    pusher        TEXT NOT NULL,            -- device that delivered it first
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
    received_ms   INTEGER NOT NULL,
    flag          TEXT                      -- why it breaks a checklist rule
);
CREATE INDEX versions_record ON versions (record, seq);
CREATE INDEX versions_author ON versions (author, dseq);
CREATE INDEX versions_prev ON versions (prev);
CREATE INDEX versions_subject ON versions (subject, seq);

CREATE TABLE parents (
    child  TEXT NOT NULL,
    parent TEXT NOT NULL,
    PRIMARY KEY (child, parent)
) WITHOUT ROWID;
CREATE INDEX parents_parent ON parents (parent);

CREATE TABLE heads (
    record TEXT NOT NULL,
    hash   TEXT NOT NULL,
    PRIMARY KEY (record, hash)
) WITHOUT ROWID;

-- Versions that verified but cannot be stored yet: their author is revoked
-- or not known, their template is not installed, or a parent has not
-- arrived. They are kept, never dropped, and re-examined when what they
-- wait for arrives.
CREATE TABLE quarantine (
    hash        TEXT PRIMARY KEY,
    author      TEXT NOT NULL,
    pusher      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    body        BLOB NOT NULL,
    sig         BLOB NOT NULL,
    received_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX quarantine_reason ON quarantine (reason);

-- The parents each quarantined version waits for.
CREATE TABLE quarantine_wait (
    hash   TEXT NOT NULL,
    parent TEXT NOT NULL,
    PRIMARY KEY (parent, hash)
) WITHOUT ROWID;

-- What an administrator must be able to look back on: enrolments,
-- revocations, refused pushes, quarantines, chain forks and gaps.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    device  TEXT,                         -- the device concerned, if any
    subject TEXT,                         -- a version hash, unit, ...
    detail  TEXT NOT NULL
);
CREATE INDEX audit_kind ON audit (kind, id);
