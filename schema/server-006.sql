-- server-006.sql - two indexes fewer for every version stored.
--
-- An index keyed by a hash takes each new version on a page of its own,
-- so each one costs a page written per version: a push of 100 changed
-- versions into 10,000 wrote about 850 pages. Two of them served only
-- look-ups the server no longer makes:
--
--   versions_prev found another version of the same author naming the
--   same previous version, for the chain check at every push. The chain
--   is now checked on (author, dseq) and the hash alone
--   (storage_sqlite.c, S_FORK and S_ALARMS): a version forks its
--   author's chain when another of the author's versions has its dseq,
--   when the author's version at dseq - 1 is not the one it names as
--   prev, when the author's version at dseq + 1 names another prev, or
--   when its prev is stored but is not its author's version at dseq - 1.
--
--   parents_parent found a stored child of the version being stored.
--   The server stores a version only once all its parents are stored
--   (server-stub/push.c), so it never has one. (The device, which may
--   receive a child before its parent, keeps its own.)
--
-- Schema version 6, after server-005.sql (attachments).

DROP INDEX versions_prev;
DROP INDEX parents_parent;
