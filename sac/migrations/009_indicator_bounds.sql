-- 009_indicator_bounds: plausible bounds in the passport (issue 9). A fact or plan outside them is an
-- upload error naming row, column, value and bound: a share within 0-100, a count at least 0, a salary
-- above 0. NULL: no bound.
ALTER TABLE indicators ADD COLUMN min_value DOUBLE;
ALTER TABLE indicators ADD COLUMN max_value DOUBLE;
-- The history table has the passport's columns in the same order, then hist_batch_id and hist_op (the
-- importer copies whole rows by position): rebuilt with the two new columns in their place.
CREATE TABLE hist_indicators_009 AS
SELECT * EXCLUDE (hist_batch_id, hist_op), CAST(NULL AS DOUBLE) AS min_value, CAST(NULL AS DOUBLE) AS max_value,
       hist_batch_id, hist_op
FROM hist_indicators;
DROP TABLE hist_indicators;
ALTER TABLE hist_indicators_009 RENAME TO hist_indicators;
