-- field-010.sql - schema version 10: one index fewer for every version.
--
-- parents_parent (parents by the parent's hash) served one look-up: when
-- a version is stored, does a stored version already name it as a parent
-- (a child relayed before its parent)? Keyed by a random hash, it took
-- each stored version's edge on a page of its own: 91 of the 426 pages a
-- pull of 100 changed versions wrote into a store of 12,000. A version's
-- children are versions of its own record, so field/store.c now asks
-- among the record's versions (versions_record, then the edges of each by
-- its row), and the heads of a record are its versions that no version
-- of the same record names as a parent: what the heads table held
-- already, for a version takes only its own record's heads off (the
-- record in FLD_DB_SQL_HEAD_DELETE), and what `field verify` now checks.

DROP INDEX parents_parent;
