-- pg/server-006.sql - PostgreSQL schema version 6, after pg/server.sql
-- (version 5): two indexes fewer for every version stored, as
-- schema/server-006.sql does on SQLite (read it for why). Applied by
-- storage_pg.c in the transaction that then sets meta's schema_version.

DROP INDEX versions_prev;
DROP INDEX parents_parent;
