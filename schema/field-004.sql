-- field-004.sql - schema version 4: what the province says of its units
-- beyond the tree.
--
-- in_programme: 0 for a unit that does not take part in the New Rural
-- programme (the commune Kỳ Lợi, in the Vũng Áng economic zone), which
-- the reports count apart. merged_into: for a unit that ended in a merger,
-- the code of the unit it became part of the day after its valid_to, so
-- that a report, a scope or a person can follow a former commune to the
-- one that holds its villages and its history now. Units loaded before
-- this version take part in the programme and record no merger.

ALTER TABLE units ADD COLUMN in_programme INTEGER NOT NULL DEFAULT 1
    CHECK (in_programme IN (0, 1));
ALTER TABLE units ADD COLUMN merged_into TEXT;
