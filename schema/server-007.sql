-- server-007.sql - parent edges by the child's row.
--
-- parents was keyed by the child's hash, so every version stored wrote
-- its edges on a page of their own (hashes are random). Keyed by the
-- child's row (versions.seq, the server's order), the edges of a push
-- sit together at the end of the table. The report reads a version's
-- edges by its row. (The device did the same in its schema version 9.)
--
-- Schema version 7, after server-006.sql (two indexes fewer).

CREATE TABLE parents_by_row (
    child_seq INTEGER NOT NULL,  -- versions.seq of the child
    parent    TEXT NOT NULL,     -- the parent's hash
    PRIMARY KEY (child_seq, parent)
) WITHOUT ROWID;

INSERT INTO parents_by_row (child_seq, parent)
    SELECT v.seq, p.parent FROM parents p JOIN versions v ON v.hash = p.child;

DROP TABLE parents;
ALTER TABLE parents_by_row RENAME TO parents;
