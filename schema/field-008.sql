-- field-008.sql - schema version 8: what the server holds, by row.
--
-- sync_known was keyed by the version's hash, so every version a pull
-- stores (each is known to the server by then) wrote a row on a page of
-- its own: hashes are random. A pull of 100 changed versions wrote a
-- hundred such pages, once in the log and once more when it was folded
-- into the file. Keyed by the version's row (versions.seq, in the order
-- the device stored them), the rows of one pull sit together at the end
-- of the table. What it says is unchanged (field-003.sql, field-006.sql).
--
-- The triggers that keep sync_pending exact are made again for the new
-- key; sync_pending_unrefused is dropped first, for it names the table
-- being replaced.

DROP TRIGGER sync_pending_unrefused;

CREATE TABLE sync_known_by_row (
    seq   INTEGER PRIMARY KEY REFERENCES versions (seq),
    how   TEXT NOT NULL,       -- stored | duplicate | quarantined | pulled
    at_ms INTEGER NOT NULL     -- when this device learnt it
);

INSERT INTO sync_known_by_row (seq, how, at_ms)
    SELECT v.seq, k.how, k.at_ms FROM sync_known k
    JOIN versions v ON v.hash = k.hash;

DROP TABLE sync_known;  -- and its triggers, sync_pending_known and _unknown
ALTER TABLE sync_known_by_row RENAME TO sync_known;

CREATE TRIGGER sync_pending_known AFTER INSERT ON sync_known
BEGIN
    DELETE FROM sync_pending WHERE seq = NEW.seq;
END;

CREATE TRIGGER sync_pending_unknown AFTER DELETE ON sync_known
BEGIN
    INSERT OR IGNORE INTO sync_pending (seq)
    SELECT OLD.seq WHERE NOT EXISTS
        (SELECT 1 FROM sync_refused r JOIN versions v ON v.hash = r.hash
         WHERE v.seq = OLD.seq);
END;

CREATE TRIGGER sync_pending_unrefused AFTER DELETE ON sync_refused
BEGIN
    INSERT OR IGNORE INTO sync_pending (seq)
    SELECT v.seq FROM versions v WHERE v.hash = OLD.hash
      AND NOT EXISTS (SELECT 1 FROM sync_known k WHERE k.seq = v.seq);
END;
