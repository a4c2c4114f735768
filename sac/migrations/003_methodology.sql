-- 003_methodology: versioned methodology configuration (METHODOLOGY.md preamble).
-- Append-only: a change of thresholds, weights or methods is a new version
-- (sac.methodology.save_new_version), never an UPDATE, so every stored or
-- exported result can name the version it was computed with.
CREATE TABLE methodology_versions (
    version     INTEGER PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by  VARCHAR NOT NULL,
    config      VARCHAR NOT NULL,   -- JSON, shape of sac.methodology.DEFAULT_CONFIG
    note        VARCHAR
);

-- Version 1 = the defaults of METHODOLOGY.md version 1. Must equal
-- sac.methodology.DEFAULT_CONFIG (tests/test_methodology.py checks it).
INSERT INTO methodology_versions (version, created_by, config, note) VALUES (
    1, 'system',
    '{"plan_fact": {"rag_green": 1.0, "rag_amber": 0.9}, "rating": {"kind": "plan_fulfilment", "normalisation": "minmax", "aggregation": "arithmetic", "coverage_min": 0.8, "tie_decimals": 1, "geometric_floor": 1.0, "robustness": {"draws": 500, "seed": 20240101, "weight_low": 0.75, "weight_high": 1.25}}, "progress": {"on_track": 0.95, "acceleration": 0.6, "projection_points": 5}, "budget": {"spike_share": 0.4, "bands": {"high": 0.9, "medium": 0.8, "satisfactory": 0.7}}, "projects": {"ev_red": 0.8, "ev_amber": 0.95}, "quality": {"outlier_z": 3.5}}',
    'METHODOLOGY.md version 1 defaults'
);
