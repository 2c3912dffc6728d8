-- field-005.sql - schema version 5: the province's threshold revisions.
--
-- A threshold revision (field/thresholds.h, docs/TEMPLATES.md "Thresholds
-- as data") gives values for a template's thresholds, signed by an
-- administrator's device. The device keeps every revision it received for
-- a template it holds, verified (hash, signature) and checked against the
-- template before it is written; `field show` and `field review` apply the
-- one in force: the greatest revision of the record's template whose
-- valid_from is not after today. Like versions, a revision is kept as the
-- exact bytes signed and never changed.

CREATE TABLE threshold_revisions (
    hash          TEXT PRIMARY KEY,  -- BLAKE2b-256 of body, hex
    template_id   TEXT NOT NULL,
    template_hash TEXT NOT NULL,
    revision      INTEGER NOT NULL,
    valid_from    TEXT NOT NULL,     -- YYYY-MM-DD
    author        TEXT NOT NULL,     -- the signing device's public key
    body          BLOB NOT NULL,     -- the canonical body exactly as signed
    sig           BLOB NOT NULL,     -- Ed25519, 64 bytes
    seq           INTEGER,           -- the server's sequence number
    stored_ms     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX threshold_revisions_template
    ON threshold_revisions (template_hash, revision);
