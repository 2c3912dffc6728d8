-- server-005.sql - attachments (photos) named by stored versions.
--
-- A version names its photos in its signed `attachments` member
-- (field/version.h): the file's BLAKE2b-256, its size, its media type and,
-- when the camera kept them, when and where it was taken. The files
-- themselves live on disk beside the database, never in it
-- (server-stub/attachments.h: <dir of the database>/attachments/); these
-- tables say which files the stored versions name and how far each upload
-- has come (docs/PROTOCOL.md, "Attachments (photos)").
--
-- attachment_refs has one row per stored version and attachment it names,
-- written in the transaction that stores the version (also when a version
-- leaves quarantine): a device may see an attachment exactly when it may
-- pull one of those versions, so the scope of an attachment is decided by
-- the versions' subjects, as a pull decides it.
--
-- attachments has one row per hash: the size and type the first stored
-- version signed (the server never takes them from the uploader), the
-- bytes acknowledged so far (durable in the partial file), the time of
-- the last chunk (partials older than --partial-days are deleted) and,
-- once the whole file matched its hash and was renamed into place, when.
--
-- Schema version 5, after server-004.sql (versions stamped in the future).

CREATE TABLE attachments (
    hash          TEXT PRIMARY KEY,          -- BLAKE2b-256 of the file, hex
    bytes         INTEGER NOT NULL,          -- the signed size
    type          TEXT NOT NULL,             -- image/jpeg or image/png
    acked         INTEGER NOT NULL DEFAULT 0, -- bytes acknowledged
    last_chunk_ms INTEGER,                   -- NULL: no chunk yet
    stored_ms     INTEGER                    -- NULL: not whole yet
) WITHOUT ROWID;

CREATE TABLE attachment_refs (
    hash     TEXT NOT NULL,
    seq      INTEGER NOT NULL,   -- versions.seq of the version naming it
    bytes    INTEGER NOT NULL,   -- as that version signed them
    type     TEXT NOT NULL,
    taken    TEXT,               -- YYYY-MM-DDTHH:MM:SS, NULL: not known
    position TEXT,               -- "lat lon", NULL: not known
    PRIMARY KEY (hash, seq)
) WITHOUT ROWID;

CREATE INDEX attachment_refs_seq ON attachment_refs (seq);
-- the partial uploads, oldest chunk first, for their expiry
CREATE INDEX attachments_partial ON attachments (last_chunk_ms)
    WHERE stored_ms IS NULL AND last_chunk_ms IS NOT NULL;

-- Versions stored before this schema (by a server that knew the member
-- but not these tables) name their attachments too.
INSERT OR IGNORE INTO attachment_refs (hash, seq, bytes, type, taken, position)
SELECT a.key, v.seq, json_extract(a.value, '$.bytes'),
       json_extract(a.value, '$.type'), json_extract(a.value, '$.taken'),
       json_extract(a.value, '$.position')
FROM versions v, json_each(CAST(v.body AS TEXT), '$.attachments') a
WHERE instr(CAST(v.body AS TEXT), '"attachments":') > 0;

INSERT OR IGNORE INTO attachments (hash, bytes, type)
SELECT hash, bytes, type FROM attachment_refs ORDER BY seq;
