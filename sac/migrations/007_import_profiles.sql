-- 007_import_profiles: how a published table (regions down, periods across) maps to an indicator,
-- saved once by the user who confirmed it and reused when the same layout arrives again
-- (sac/ingest/profiles.py; `python -m sac import-table --profile NAME`).
CREATE TABLE import_profiles (
    name            VARCHAR PRIMARY KEY,
    indicator_id    VARCHAR NOT NULL,
    sheet           VARCHAR,              -- NULL: the first sheet
    block           VARCHAR,              -- a block's label; NULL: the block with most unit rows
    source_document VARCHAR NOT NULL DEFAULT '',
    fingerprint     VARCHAR NOT NULL,     -- the layout it was saved for (profiles.fingerprint)
    created_by      VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
);
