-- 012_service_tokens: service accounts of the HTTP API (/api/v1, sac/api). A token is shown once when it is
-- created (python -m sac users token create); only its SHA-256 is kept. Its role and units are checked by the
-- same permission layer as a person's (sac/auth/permissions.py). Rows are never deleted: a revoked token stays,
-- so the audit log's 'token:<name>' always names a known account. Times are naive UTC.
CREATE TABLE service_tokens (
    name         VARCHAR PRIMARY KEY,            -- lower case; the API's user is 'token:<name>'
    token_hash   VARCHAR NOT NULL UNIQUE,        -- hex SHA-256 of the whole token ('sac_...'), never the token
    role         VARCHAR NOT NULL CHECK (role IN ('admin', 'analyst', 'leadership', 'project_office')),
    units        VARCHAR[] NOT NULL DEFAULT [],  -- KATO codes / org_ids a project office is scoped to; [] = all
    created_by   VARCHAR NOT NULL,               -- 'cli:<os user>'
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,                      -- NULL: never (only when asked for)
    revoked_at   TIMESTAMP,
    revoked_by   VARCHAR,
    last_used_at TIMESTAMP                       -- the last call it authenticated
);
