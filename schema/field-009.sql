-- field-009.sql - schema version 9: parent edges by the child's row.
--
-- parents was keyed by the child's hash, so every version stored wrote
-- its edges on a page of their own (hashes are random): with its hash,
-- its record's heads and the edges' other index, one of the pages each
-- pulled version dirtied. Keyed by the child's row (versions.seq, in the
-- order the device stored them), the edges of one sync sit together at
-- the end of the table. The parent stays a hash: it may not be stored
-- here yet (a child relayed before its parent), and parents_parent finds
-- the children of a version by it.

CREATE TABLE parents_by_row (
    child_seq INTEGER NOT NULL,  -- versions.seq of the child
    parent    TEXT NOT NULL,     -- the parent's hash, as the child signed it
    PRIMARY KEY (child_seq, parent)
) WITHOUT ROWID;

INSERT INTO parents_by_row (child_seq, parent)
    SELECT v.seq, p.parent FROM parents p JOIN versions v ON v.hash = p.child;

DROP TABLE parents;  -- and its index parents_parent
ALTER TABLE parents_by_row RENAME TO parents;
CREATE INDEX parents_parent ON parents (parent);
