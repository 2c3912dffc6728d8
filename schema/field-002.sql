-- field-002.sql - schema version 2: administrative units as data.
--
-- Units change (districts abolished on 1 July 2025, communes merged), so a
-- unit is a row with the dates it was valid, never a constant in code; a
-- code may appear again with another name from another date. Records name
-- their unit by code. Loaded by `field units import FILE.csv`.

CREATE TABLE units (
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,   -- tinh, huyen, thi_xa, thanh_pho, xa, phuong, thon ...
    parent_code TEXT,            -- NULL for the top of the hierarchy
    valid_from  TEXT NOT NULL,   -- YYYY-MM-DD; '0000-01-01' when unknown
    valid_to    TEXT,            -- YYYY-MM-DD, inclusive; NULL while valid
    PRIMARY KEY (code, valid_from)
) WITHOUT ROWID;
CREATE INDEX units_parent ON units (parent_code);
