-- 001_core: the reference data, the goal map, indicators and their values,
-- budget, projects, instructions on control, upload batches.
-- Column names are the contract between ingest, metrics and pages: change them
-- only by a new migration.

-- Key/value facts about the store itself (data_version is bumped by every write).
CREATE TABLE meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
INSERT INTO meta VALUES ('data_version', '0');

-- Periods: year, quarter and month rows side by side, so that data of any
-- periodicity joins to one calendar and compares by its dates.
-- code: '2024' | '2024-Q3' | '2024-07'.
CREATE TABLE periods (
    code        VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL CHECK (kind IN ('year', 'quarter', 'month')),
    year        INTEGER NOT NULL,
    quarter     INTEGER,          -- 1..4 for quarters and months, NULL for years
    month       INTEGER,          -- 1..12 for months only
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL
);
INSERT INTO periods
SELECT CAST(y AS VARCHAR), 'year', y, NULL, NULL, make_date(y, 1, 1), make_date(y, 12, 31)
FROM range(2000, 2051) t(y);
INSERT INTO periods
SELECT CAST(y AS VARCHAR) || '-Q' || CAST(q AS VARCHAR), 'quarter', y, q, NULL,
       make_date(y, 3 * q - 2, 1),
       CAST(make_date(y, 3 * q - 2, 1) + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE)
FROM range(2000, 2051) t(y), range(1, 5) s(q);
INSERT INTO periods
SELECT CAST(y AS VARCHAR) || '-' || lpad(CAST(m AS VARCHAR), 2, '0'), 'month', y, (m + 2) // 3, m,
       make_date(y, m, 1),
       CAST(make_date(y, m, 1) + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE)
FROM range(2000, 2051) t(y), range(1, 13) s(m);

-- Regions and cities of republican significance (regions.csv, KATO codes).
CREATE TABLE regions (
    kato        VARCHAR PRIMARY KEY,   -- '10', '71', ...
    iso         VARCHAR NOT NULL UNIQUE,
    kind        VARCHAR NOT NULL CHECK (kind IN ('region', 'city')),
    name_en     VARCHAR NOT NULL,
    name_ru     VARCHAR NOT NULL,
    name_kk     VARCHAR NOT NULL,
    centre_en   VARCHAR,
    population  BIGINT                 -- for population-weighted means; NULL when unknown
);

-- State bodies, akimats, project offices.
CREATE TABLE organisations (
    org_id      VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL CHECK (kind IN ('state_body', 'akimat', 'project_office', 'other')),
    name_en     VARCHAR NOT NULL,
    name_ru     VARCHAR NOT NULL,
    name_kk     VARCHAR NOT NULL,
    region_kato VARCHAR REFERENCES regions (kato)
);

-- People who carry personal responsibility (Rules para 17, 77).
CREATE TABLE officials (
    official_id  VARCHAR PRIMARY KEY,
    full_name    VARCHAR NOT NULL,
    position     VARCHAR,
    org_id       VARCHAR REFERENCES organisations (org_id),
    certified_pm BOOLEAN              -- certified project-management qualification (para 64)
);

-- The goal map above projects (Rules para 5, 6, 27, 40-42, Appendix 2):
-- national priority -> program -> basic direction -> group of projects.
CREATE TABLE goal_nodes (
    node_id              VARCHAR PRIMARY KEY,
    parent_id            VARCHAR REFERENCES goal_nodes (node_id),
    level                VARCHAR NOT NULL CHECK (level IN ('national_priority', 'program', 'basic_direction', 'project_group')),
    code                 VARCHAR,
    name_en              VARCHAR NOT NULL,
    name_ru              VARCHAR NOT NULL,
    name_kk              VARCHAR NOT NULL,
    program_kind         VARCHAR CHECK (program_kind IN ('national_project', 'regional_plan', 'state_program')),
    region_kato          VARCHAR REFERENCES regions (kato),
    responsible_official VARCHAR REFERENCES officials (official_id),
    responsibility_level INTEGER CHECK (responsibility_level BETWEEN 1 AND 4),
    is_standard_bd       BOOLEAN NOT NULL DEFAULT FALSE   -- Rules para 56
);

-- Indicator passports: every field of METHODOLOGY.md section 1.
CREATE TABLE indicators (
    indicator_id         VARCHAR PRIMARY KEY,    -- the code
    name_en              VARCHAR NOT NULL,
    name_ru              VARCHAR NOT NULL,
    name_kk              VARCHAR NOT NULL,
    unit_of_measure      VARCHAR,                -- '%', 'thousand people', 'bn KZT'
    direction            VARCHAR CHECK (direction IN ('up', 'down')),
    tier                 VARCHAR CHECK (tier IN ('output', 'outcome', 'impact')),
    periodicity          VARCHAR NOT NULL CHECK (periodicity IN ('year', 'quarter', 'month')),
    cumulative           BOOLEAN NOT NULL DEFAULT FALSE,  -- values accumulate within the year
    aggregation          VARCHAR NOT NULL DEFAULT 'mean' CHECK (aggregation IN ('sum', 'mean', 'pop_weighted_mean', 'none')),
    weight               DOUBLE NOT NULL DEFAULT 1 CHECK (weight >= 0),
    rag_green            DOUBLE,                 -- A at or above which the cell is green (default 1.00)
    rag_amber            DOUBLE,                 -- A at or above which the cell is amber (default 0.90)
    baseline_value       DOUBLE,
    baseline_year        INTEGER,
    target_value         DOUBLE,
    target_year          INTEGER,
    goalpost_low         DOUBLE,                 -- L for the goalposts normalisation (section 3.2)
    goalpost_high        DOUBLE,                 -- U
    responsibility_level INTEGER CHECK (responsibility_level BETWEEN 1 AND 4),
    node_id              VARCHAR REFERENCES goal_nodes (node_id),
    responsible_official VARCHAR REFERENCES officials (official_id),
    source_document      VARCHAR                 -- the document whose plan values count
);

-- Plan and fact by indicator, unit, period and source document.
-- unit_code is a region's KATO code or an organisation's org_id.
-- NULL is "no data", never zero.
CREATE TABLE indicator_values (
    indicator_id    VARCHAR NOT NULL REFERENCES indicators (indicator_id),
    unit_code       VARCHAR NOT NULL,
    period          VARCHAR NOT NULL REFERENCES periods (code),
    source_document VARCHAR NOT NULL DEFAULT '',
    plan            DOUBLE,
    fact            DOUBLE,
    batch_id        BIGINT,
    PRIMARY KEY (indicator_id, unit_code, period, source_document)
);

-- Budget programs (for example 068), linked to the goal map.
CREATE TABLE budget_programs (
    program_code  VARCHAR PRIMARY KEY,
    name_en       VARCHAR NOT NULL,
    name_ru       VARCHAR NOT NULL,
    name_kk       VARCHAR NOT NULL,
    administrator VARCHAR,                    -- org_id of the budget administrator
    node_id       VARCHAR REFERENCES goal_nodes (node_id)
);

-- Which indicators a budget program is meant to move (section 5 efficiency).
CREATE TABLE budget_program_indicators (
    program_code VARCHAR NOT NULL REFERENCES budget_programs (program_code),
    indicator_id VARCHAR NOT NULL REFERENCES indicators (indicator_id),
    PRIMARY KEY (program_code, indicator_id)
);

-- Budget lines; amounts in million tenge. Phases approved/revised/allocated/spent (OpenSpending).
CREATE TABLE budget_lines (
    program_code    VARCHAR NOT NULL,
    subprogram_code VARCHAR NOT NULL DEFAULT '',
    unit_code       VARCHAR NOT NULL,
    period          VARCHAR NOT NULL REFERENCES periods (code),
    source_document VARCHAR NOT NULL DEFAULT '',
    plan            DOUBLE,
    revised         DOUBLE,
    allocated       DOUBLE,
    spent           DOUBLE,
    batch_id        BIGINT,
    PRIMARY KEY (program_code, subprogram_code, unit_code, period, source_document)
);

-- Projects: what METHODOLOGY.md section 6 needs. Money in million tenge.
CREATE TABLE projects (
    project_id                VARCHAR PRIMARY KEY,
    name_en                   VARCHAR NOT NULL,
    name_ru                   VARCHAR,
    name_kk                   VARCHAR,
    node_id                   VARCHAR,            -- its group of projects (goal_nodes)
    region_kato               VARCHAR,
    initiator                 VARCHAR,            -- project roles, Rules para 77
    sponsor                   VARCHAR,
    customer                  VARCHAR,
    manager_id                VARCHAR,            -- officials.official_id
    lifecycle_stage           VARCHAR CHECK (lifecycle_stage IN ('initiation', 'planning', 'implementation', 'monitoring', 'adjustment', 'closure')),
    status_reported           VARCHAR CHECK (status_reported IN ('green', 'amber', 'red')),
    is_active                 BOOLEAN NOT NULL DEFAULT TRUE,
    planned_start             DATE,
    planned_end               DATE,
    actual_start              DATE,
    actual_end                DATE,               -- set when finished
    forecast_end              DATE,               -- for running projects
    budget                    DOUBLE,             -- approved budget (BAC)
    cost_to_date              DOUBLE,             -- actual cost to date (AC)
    forecast_cost             DOUBLE,             -- estimate at completion
    percent_complete          DOUBLE CHECK (percent_complete BETWEEN 0 AND 1),
    stakeholder_expectations_met BOOLEAN,
    consultant_involved       BOOLEAN,
    staff_total               INTEGER,
    staff_certified           INTEGER,
    risks                     VARCHAR,
    batch_id                  BIGINT
);

-- Planned contribution of a project to an indicator, in the indicator's unit (section 7).
CREATE TABLE project_contributions (
    project_id           VARCHAR NOT NULL,
    indicator_id         VARCHAR NOT NULL,
    unit_code            VARCHAR NOT NULL,
    planned_contribution DOUBLE NOT NULL,
    batch_id             BIGINT,
    PRIMARY KEY (project_id, indicator_id, unit_code)
);

-- Instructions on control (Rules para 16, 92-94).
CREATE TABLE instructions (
    instruction_id       VARCHAR PRIMARY KEY,
    title                VARCHAR NOT NULL,
    issuer               VARCHAR,
    responsible_org      VARCHAR,
    responsible_official VARCHAR,
    region_kato          VARCHAR,
    issue_date           DATE NOT NULL,
    due_date             DATE NOT NULL,
    status               VARCHAR NOT NULL CHECK (status IN ('on_control', 'done', 'removed')),
    done_date            DATE,
    escalated            BOOLEAN NOT NULL DEFAULT FALSE,
    batch_id             BIGINT
);

-- Upload batches: who uploaded which file when, what it changed.
CREATE SEQUENCE upload_batch_seq START 1;
CREATE TABLE upload_batches (
    batch_id       BIGINT PRIMARY KEY DEFAULT nextval('upload_batch_seq'),
    kind           VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,
    uploaded_by    VARCHAR NOT NULL,
    uploaded_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    rows_inserted  BIGINT NOT NULL DEFAULT 0,
    rows_updated   BIGINT NOT NULL DEFAULT 0,
    rows_unchanged BIGINT NOT NULL DEFAULT 0,
    rows_rejected  BIGINT NOT NULL DEFAULT 0,
    status         VARCHAR NOT NULL DEFAULT 'committed' CHECK (status IN ('committed', 'rolled_back')),
    rolled_back_at TIMESTAMP,
    rolled_back_by VARCHAR
);

-- The cell that plan-fact scores: one plan and one fact per (indicator, unit, period).
-- Plan: from the indicator's own source document when it carries one, else from the
-- first document (by name) that has a plan. Fact: likewise among documents with a fact.
-- Several documents with different plans for one cell are surfaced by the quality
-- audit (METHODOLOGY.md section 8, seed 001 Table 9), not averaged away here.
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

-- The audit log: who did what, when. Append-only: the app has no path that
-- updates or deletes it (sac/audit.py only inserts).
CREATE SEQUENCE audit_log_seq START 1;
CREATE TABLE audit_log (
    entry_id   BIGINT PRIMARY KEY DEFAULT nextval('audit_log_seq'),
    occurred_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor      VARCHAR NOT NULL,         -- user name, 'cli:<os user>', or 'anonymous'
    action     VARCHAR NOT NULL,         -- 'sign_in', 'sign_in_failed', 'upload', 'rollback', ...
    target     VARCHAR,                  -- what it acted on: a batch id, a user name, a version
    details    VARCHAR                   -- JSON with the particulars
);
