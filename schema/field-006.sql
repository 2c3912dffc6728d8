-- field-006.sql - schema version 6: the queue of versions to push.
--
-- A version is pending when the server is not known to hold it
-- (sync_known) and has not refused it (sync_refused). Until version 5
-- every sync found the pending versions by looking at every stored
-- version, so a sync with nothing to push cost more the more the device
-- held (40-60 ms at 10,000 versions). sync_pending holds exactly the
-- pending versions, by their local arrival order, so that finding what to
-- push costs what there is to push.
--
-- The triggers below keep it exact whoever writes: capture, import, a
-- bundle, a repair, a pull. A version stored here is pending (nothing
-- can name it in sync_known or sync_refused before it exists: both
-- reference versions, and foreign keys are on); it stops being pending
-- when the server acknowledges it, sends it, or refuses it; forgetting
-- what the server holds (a cursor reset, `field sync --full`) makes it
-- pending again unless it is still refused or still known.

CREATE TABLE sync_pending (
    seq INTEGER PRIMARY KEY REFERENCES versions (seq)
);

INSERT INTO sync_pending (seq)
    SELECT v.seq FROM versions v
    WHERE NOT EXISTS (SELECT 1 FROM sync_known k WHERE k.hash = v.hash)
      AND NOT EXISTS (SELECT 1 FROM sync_refused r WHERE r.hash = v.hash);

CREATE TRIGGER sync_pending_stored AFTER INSERT ON versions
BEGIN
    INSERT INTO sync_pending (seq) VALUES (NEW.seq);
END;

CREATE TRIGGER sync_pending_known AFTER INSERT ON sync_known
BEGIN
    DELETE FROM sync_pending
    WHERE seq = (SELECT seq FROM versions WHERE hash = NEW.hash);
END;

CREATE TRIGGER sync_pending_refused AFTER INSERT ON sync_refused
BEGIN
    DELETE FROM sync_pending
    WHERE seq = (SELECT seq FROM versions WHERE hash = NEW.hash);
END;

CREATE TRIGGER sync_pending_unknown AFTER DELETE ON sync_known
BEGIN
    INSERT OR IGNORE INTO sync_pending (seq)
    SELECT seq FROM versions WHERE hash = OLD.hash
      AND NOT EXISTS (SELECT 1 FROM sync_refused WHERE hash = OLD.hash);
END;

CREATE TRIGGER sync_pending_unrefused AFTER DELETE ON sync_refused
BEGIN
    INSERT OR IGNORE INTO sync_pending (seq)
    SELECT seq FROM versions WHERE hash = OLD.hash
      AND NOT EXISTS (SELECT 1 FROM sync_known WHERE hash = OLD.hash);
END;
