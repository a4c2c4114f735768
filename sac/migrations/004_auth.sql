-- 004_auth: accounts, their roles and the regions / organisations they may touch (issue 5).
-- No foreign keys on purpose: DuckDB refuses UPDATEs of a parent row that other
-- rows reference, and an account's lockout counters change on every sign-in;
-- sac/auth/accounts.py keeps user_units consistent inside one transaction.

CREATE TABLE users (
    username             VARCHAR PRIMARY KEY,   -- lower case; for OIDC accounts the mapped claim (email or sub)
    display_name         VARCHAR NOT NULL,
    role                 VARCHAR NOT NULL CHECK (role IN ('admin', 'analyst', 'leadership', 'project_office')),
    password_hash        VARCHAR,               -- bcrypt; NULL for accounts that only sign in through OIDC
    source               VARCHAR NOT NULL DEFAULT 'builtin' CHECK (source IN ('builtin', 'oidc')),
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,   -- consecutive wrong passwords since the last success
    locked_until         TIMESTAMP,                    -- UTC; sign-in refused before it
    language             VARCHAR NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ru', 'kk')),
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE, -- set by an admin reset and for generated passwords
    created_at           TIMESTAMP NOT NULL,           -- UTC
    created_by           VARCHAR,
    updated_at           TIMESTAMP,                    -- UTC, last change by an admin or the user
    password_changed_at  TIMESTAMP,                    -- UTC
    last_sign_in         TIMESTAMP                     -- UTC
);

-- Regions (KATO code) and organisations (org_id) a project-office account is scoped to.
-- No rows for an admin, analyst or leadership account means "all".
CREATE TABLE user_units (
    username  VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    PRIMARY KEY (username, unit_code)
);
