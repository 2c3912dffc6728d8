-- pg/server-007.sql - PostgreSQL schema version 7, after server-006.sql:
-- parent edges by the child's row, as schema/server-007.sql does on
-- SQLite (read it for why). The table is changed in place, not made
-- again, so that the privileges granted on it stay.

ALTER TABLE parents ADD COLUMN child_seq bigint;
UPDATE parents p SET child_seq = v.seq FROM versions v WHERE v.hash = p.child;
ALTER TABLE parents DROP CONSTRAINT parents_pkey;
ALTER TABLE parents DROP COLUMN child;
ALTER TABLE parents ALTER COLUMN child_seq SET NOT NULL;
ALTER TABLE parents ADD PRIMARY KEY (child_seq, parent);
