-- server-003.sql - the province's threshold revisions.
--
-- A threshold revision (field/thresholds.h, docs/TEMPLATES.md "Thresholds
-- as data") gives the values the province uses for a template's
-- thresholds, signed by an administrator's device. `field-server
-- thresholds add` stores one only when its signature verifies, its author
-- is an enrolled, unrevoked admin device, its template is installed, its
-- values fit the template, and its revision number is greater than any
-- stored for the same template hash. Like versions, a revision is kept as
-- the exact bytes signed and never changed or deleted.
--
-- `seq` is the server order in which devices fetch revisions (GET
-- /v1/thresholds?after=SEQ); the greatest is announced in every sync
-- answer, so a device with nothing new asks nothing more. `received_ms`
-- is when this server accepted it: the province's report chooses the
-- revision in force among those received by its cut-off.
--
-- Schema version 3, after server-002.sql (units with validity dates, and
-- targets).

CREATE TABLE threshold_revisions (
    seq           INTEGER PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE,  -- BLAKE2b-256 of body, hex
    template_id   TEXT NOT NULL,
    template_hash TEXT NOT NULL,
    revision      INTEGER NOT NULL,
    valid_from    TEXT NOT NULL,         -- YYYY-MM-DD
    author        TEXT NOT NULL,         -- the admin device's public key
    body          BLOB NOT NULL,         -- the canonical body exactly as signed
    sig           BLOB NOT NULL,         -- Ed25519, 64 bytes
    received_ms   INTEGER NOT NULL,
    UNIQUE (template_hash, revision)
);
