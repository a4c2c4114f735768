-- 006_region_aliases: the names of regions an admin adds (issue 9, "every name a region goes by").
--
-- The package's own aliases live in sac/reference/region_aliases.csv and are read each time a lookup is
-- built (sac/ingest/units.py), so a new package version's aliases always apply and nothing has to be
-- seeded here. This table holds what an admin adds on top (`python -m sac aliases add ALIAS KATO`); an
-- admin row wins over a package row with the same key. Adds and removals are in the audit log.
-- kato is a regions.kato or a former unit's code ('51', South Kazakhstan, kind 'former_unit'): no
-- foreign key, because a former unit has no row in regions; sac.ingest.units.add_alias checks it.

CREATE TABLE region_aliases (
    alias            VARCHAR PRIMARY KEY,   -- the normalised key (sac.ingest.units.alias_key), e.g. 'region:алматы'
    alias_as_written VARCHAR NOT NULL,      -- as the admin typed it, e.g. 'Алматы обл.'
    kato             VARCHAR NOT NULL,
    kind             VARCHAR,               -- 'admin', or 'former_unit' for a former unit's code
    note             VARCHAR,
    source           VARCHAR NOT NULL DEFAULT 'admin' CHECK (source IN ('package', 'admin')),
    created_at       TIMESTAMP,             -- UTC
    created_by       VARCHAR
);
