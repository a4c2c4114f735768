-- 011_sessions: sign-in sessions that survive a reload (issue 10, part 1). The browser holds a random token in
-- the HttpOnly cookie 'sac_session'; the server keeps only its SHA-256 (sac/auth/sessions.py), so a copy of the
-- database signs nobody in. Rows are never deleted by the app: an ended session keeps when and why it ended.
-- Times are naive UTC. No foreign key to users, as in 004 (DuckDB refuses updates of a referenced parent row).
CREATE TABLE sessions (
    token_hash     VARCHAR PRIMARY KEY,   -- hex SHA-256 of the token, never the token itself
    username       VARCHAR NOT NULL,      -- users.username
    source         VARCHAR NOT NULL DEFAULT 'builtin' CHECK (source IN ('builtin', 'oidc')),
    created_at     TIMESTAMP NOT NULL,
    last_seen_at   TIMESTAMP NOT NULL,    -- refreshed at most once a minute; idle time-out counts from it
    expires_at     TIMESTAMP NOT NULL,    -- absolute end (created_at + SAC_SESSION_MAX_HOURS), whatever the use
    revoked_at     TIMESTAMP,             -- set when the session ends for any reason (sign-out, time-out, admin)
    revoked_reason VARCHAR,               -- sign_out, idle, expired, replaced, password_changed, password_reset,
                                          -- user_disabled, ended_by_admin, user_missing
    user_agent     VARCHAR,               -- the browser's User-Agent at sign-in (first 200 characters), for the admin
    client_ip      VARCHAR                -- the address the sign-in came from (a proxy's, behind one)
);
