-- 002_ingest_history: previous row images of every upload, so a batch can be rolled back exactly.
--
-- One history table per importable table, with the same columns as the table plus:
--   hist_batch_id  the upload batch that changed the row;
--   hist_op        'update': the full previous image, batch_id included, which rollback puts back;
--                  'insert': the row did not exist before the batch (only the key columns are kept,
--                  rollback deletes the row). Only for indicators, which has no batch_id column: in
--                  the other tables the rows a batch inserted are those with its batch_id and no
--                  'update' image of it, so a million inserted rows need no million history rows.
-- Rows a batch left unchanged are not written and leave no history.
CREATE TABLE hist_indicator_values AS SELECT * FROM indicator_values WITH NO DATA;
ALTER TABLE hist_indicator_values ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_indicator_values ADD COLUMN hist_op VARCHAR;

CREATE TABLE hist_budget_lines AS SELECT * FROM budget_lines WITH NO DATA;
ALTER TABLE hist_budget_lines ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_budget_lines ADD COLUMN hist_op VARCHAR;

CREATE TABLE hist_projects AS SELECT * FROM projects WITH NO DATA;
ALTER TABLE hist_projects ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_projects ADD COLUMN hist_op VARCHAR;

CREATE TABLE hist_project_contributions AS SELECT * FROM project_contributions WITH NO DATA;
ALTER TABLE hist_project_contributions ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_project_contributions ADD COLUMN hist_op VARCHAR;

CREATE TABLE hist_instructions AS SELECT * FROM instructions WITH NO DATA;
ALTER TABLE hist_instructions ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_instructions ADD COLUMN hist_op VARCHAR;

CREATE TABLE hist_indicators AS SELECT * FROM indicators WITH NO DATA;
ALTER TABLE hist_indicators ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_indicators ADD COLUMN hist_op VARCHAR;

-- Which sheet was read and how many warnings the dry run showed (the rest is in upload_batches).
ALTER TABLE upload_batches ADD COLUMN sheet VARCHAR;
ALTER TABLE upload_batches ADD COLUMN rows_warned BIGINT DEFAULT 0;
ALTER TABLE upload_batches ADD COLUMN rows_totals BIGINT DEFAULT 0;
