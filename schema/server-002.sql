-- server-002.sql - schema version 2: units with dates, and the province's
-- targets.
--
-- The province reports how many communes and villages meet each tier "as
-- of" a date, counting the units valid on that date. So the server keeps
-- units as the devices do (schema/field-002.sql): a row per version of a
-- code, with the dates it was valid, and what the units file says beyond
-- the tree (schema/field-004.sql): whether the unit takes part in the New
-- Rural programme, and the unit it merged into.
--
-- The units of schema version 1 had no dates: each becomes one version
-- valid since ever (0000-01-01) and still valid, its level its kind. A
-- units file that gives such a code with dates replaces that version
-- (field/units.h), so re-importing the province's file after the upgrade
-- dates them.

CREATE TABLE units_dated (
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT '', -- tinh, xa, phuong, thon ...
    parent       TEXT,                     -- NULL at the top
    valid_from   TEXT NOT NULL,            -- YYYY-MM-DD; '0000-01-01' when unknown
    valid_to     TEXT,                     -- YYYY-MM-DD, inclusive; NULL while valid
    in_programme INTEGER NOT NULL DEFAULT 1 CHECK (in_programme IN (0, 1)),
    merged_into  TEXT,                     -- the unit it became part of
    PRIMARY KEY (code, valid_from)
) WITHOUT ROWID;

INSERT INTO units_dated (code, name, kind, parent, valid_from)
    SELECT code, name, level, parent, '0000-01-01' FROM units;
DROP TABLE units;
ALTER TABLE units_dated RENAME TO units;
-- Scope walks go down from a unit to those whose parent it ever was, and
-- to those that merged into it.
CREATE INDEX units_parent ON units (parent);
CREATE INDEX units_merged ON units (merged_into);

-- What the province sets out to reach (`field-server targets import`): at
-- least `count` units of `unit` meeting tier `tier` (a template's tier
-- code, such as xa-ntm-nang-cao), from `applies_from`, by `due`. A later
-- import of the same unit, tier and start replaces the row, and goes to
-- the end of the load order (id).
CREATE TABLE targets (
    id           INTEGER PRIMARY KEY,      -- load order
    unit         TEXT NOT NULL,
    tier         TEXT NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 0),
    applies_from TEXT NOT NULL,            -- YYYY-MM-DD
    due          TEXT,                     -- YYYY-MM-DD, or NULL
    source       TEXT,                     -- the document that set it
    loaded_ms    INTEGER NOT NULL,
    UNIQUE (unit, tier, applies_from)
);
