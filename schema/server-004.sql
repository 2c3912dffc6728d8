-- server-004.sql - versions stamped in the future.
--
-- A version's hybrid logical clock ("hlc", field/hlc.h) is its author's
-- claim of when it was made. The server keeps every signed version, but
-- one stamped beyond the time this server received it plus the allowed
-- clock skew (field-server's skew setting, 300 s by default) cannot be
-- true: it is stored with ahead_ms, how far ahead of the receipt it was
-- stamped, audited as "clock_ahead", and shown by `field-server record`.
-- Such a stamp never decides which value is shown first or which decision
-- is newest (docs/SYNC.md, "Clocks from the future"); reports already use
-- received_ms, never the stamp.
--
-- Schema version 4, after server-003.sql (threshold revisions).

ALTER TABLE versions ADD COLUMN ahead_ms INTEGER; -- NULL: not ahead
