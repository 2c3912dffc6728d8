-- field-003.sql - schema version 3: what the device knows of the server.
--
-- `field sync` pushes every version the server is not known to hold and
-- pulls what it lacks (docs/SYNC.md). The state that makes this resumable
-- lives here, and each row is written in the same transaction as the
-- server's answer that justifies it, so a sync killed at any point is
-- simply run again:
--
--   sync_known    versions the server holds: it acknowledged them
--                 (stored, duplicate or quarantined) or sent them to us.
--                 A version without a row here, and not refused, is
--                 pending. Forgetting every row (a cursor reset, `field
--                 sync --full`) makes everything pending again; pushing
--                 is idempotent, so that costs bandwidth, never data.
--   sync_refused  the dead-letter list: versions the server refused, with
--                 its reason. They are not pushed again (they would be
--                 refused again) until `field sync --full`, and they never
--                 hold up the rest of the queue.
--
-- The cursor, the server's URL and the enrollment are meta settings
-- (sync.*, see sync/client.h). Versions themselves are never changed.

CREATE TABLE sync_known (
    hash  TEXT PRIMARY KEY REFERENCES versions (hash),
    how   TEXT NOT NULL,       -- stored | duplicate | quarantined | pulled
    at_ms INTEGER NOT NULL     -- when this device learnt it
) WITHOUT ROWID;

CREATE TABLE sync_refused (
    hash    TEXT PRIMARY KEY REFERENCES versions (hash),
    reason  TEXT NOT NULL,     -- the server's reason code (docs/PROTOCOL.md)
    message TEXT,              -- the server's words, for people
    at_ms   INTEGER NOT NULL
) WITHOUT ROWID;
