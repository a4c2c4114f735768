-- 005_values_key_by_importer: indicator_values without its PRIMARY KEY index.
--
-- The 4-column text primary key (indicator_id, unit_code, period, source_document) was an ART
-- index that cost more than the rest of a million-row import together (bench/import_bench.py,
-- issue 2: 2.0 s of inserting against a 0.23 s read of the same file). The natural key stays
-- unique, enforced by the one write path, the importer (sac/ingest/engine.py): a key twice in a
-- file is an error ('duplicate_key'), and a key already stored is updated in place (replace
-- semantics), never inserted again. tests/test_ingest_keys.py holds it to that, and checks the
-- demo builder (the other writer) writes each key once.
--
-- Same columns in the same order, same data. The foreign keys go too: each is an index of its own
-- on a million rows, and the importer checks both references before writing ('unknown_indicator',
-- 'unknown_period'); rolling back an indicators batch checks for values that use its indicators.
-- The view over the table is dropped and recreated unchanged (001_core.sql).

DROP VIEW v_indicator_cells;

CREATE TABLE indicator_values_new (
    indicator_id    VARCHAR NOT NULL,   -- indicators.indicator_id (checked by the importer)
    unit_code       VARCHAR NOT NULL,
    period          VARCHAR NOT NULL,   -- periods.code (checked by the importer)
    source_document VARCHAR NOT NULL DEFAULT '',
    plan            DOUBLE,
    fact            DOUBLE,
    batch_id        BIGINT
    -- natural key (indicator_id, unit_code, period, source_document): unique, kept by the importer
);
INSERT INTO indicator_values_new SELECT indicator_id, unit_code, period, source_document, plan, fact, batch_id
FROM indicator_values;
DROP TABLE indicator_values;
ALTER TABLE indicator_values_new RENAME TO indicator_values;

CREATE VIEW v_indicator_cells AS
WITH ranked AS (
    SELECT v.indicator_id, v.unit_code, v.period, v.source_document, v.plan, v.fact,
           CASE WHEN v.source_document = i.source_document THEN 0 ELSE 1 END AS doc_rank
    FROM indicator_values v JOIN indicators i USING (indicator_id)
)
SELECT indicator_id, unit_code, period,
       arg_min(plan, (doc_rank, source_document)) FILTER (WHERE plan IS NOT NULL) AS plan,
       arg_min(fact, (doc_rank, source_document)) FILTER (WHERE fact IS NOT NULL) AS fact,
       arg_min(source_document, (doc_rank, source_document)) FILTER (WHERE plan IS NOT NULL) AS plan_source
FROM ranked
GROUP BY indicator_id, unit_code, period;
