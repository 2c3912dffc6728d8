-- field-007.sql - schema version 7: evidence photos (attachments).
--
-- A photo is a file named by the BLAKE2b-256 of its bytes, kept under the
-- data directory (<home>/attachments/<2 hex>/<hash>: field/attachment.h);
-- a photo question's answer is that hash, and the version that answers it
-- signs the photo's size, type, time and position in its "attachments"
-- member (field/version.h). The file itself travels apart from the
-- version, so the device keeps two things: what each stored version
-- signed about the attachments it names (version_attachments, written by
-- fld_store_put_version whatever brought the version: capture, pull,
-- bundle, import), and what it knows of each file (attachments): whether
-- it holds it, and whether the server is known to hold it whole.
--
-- No version stored before this schema names an attachment (the member is
-- new), so there is nothing to backfill.

CREATE TABLE attachments (
    id       INTEGER PRIMARY KEY,         -- the order the device learnt of it
    hash     TEXT NOT NULL UNIQUE,        -- BLAKE2b-256 of the file, hex
    bytes    INTEGER NOT NULL CHECK (bytes > 0),
    type     TEXT NOT NULL,               -- image/jpeg | image/png
    taken    TEXT,                        -- YYYY-MM-DDTHH:MM:SS, camera clock
    position TEXT,                        -- geopoint "lat lon"
    held     INTEGER NOT NULL DEFAULT 0,  -- the file is on this device
    uploaded INTEGER NOT NULL DEFAULT 0,  -- the server holds it whole
    added_ms INTEGER NOT NULL
);
-- what to upload and what to download: the few rows in question
CREATE INDEX attachments_held ON attachments (held, uploaded, id);

CREATE TABLE version_attachments (
    seq      INTEGER NOT NULL REFERENCES versions (seq),
    hash     TEXT NOT NULL,
    bytes    INTEGER NOT NULL,
    type     TEXT NOT NULL,
    taken    TEXT,
    position TEXT,
    PRIMARY KEY (hash, seq)
) WITHOUT ROWID;
CREATE INDEX version_attachments_seq ON version_attachments (seq);
