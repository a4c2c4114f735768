-- 010_reference_uploads: organisations and budget programmes are upload kinds (issue 9: a budget held by an
-- organisation, or a programme named only in an upload, had no way in). Their previous row images, as
-- 002 keeps for the other kinds, so their batches roll back exactly.
CREATE TABLE hist_organisations AS SELECT * FROM organisations WITH NO DATA;
ALTER TABLE hist_organisations ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_organisations ADD COLUMN hist_op VARCHAR;

CREATE TABLE hist_budget_programs AS SELECT * FROM budget_programs WITH NO DATA;
ALTER TABLE hist_budget_programs ADD COLUMN hist_batch_id BIGINT;
ALTER TABLE hist_budget_programs ADD COLUMN hist_op VARCHAR;
