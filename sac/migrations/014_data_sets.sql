-- Data sets and their approval (issue 12): what one reporting unit reports of one kind for one period,
-- open -> submitted -> approved -> locked. A set with no row here is open. A set covers every row of its
-- kind and unit whose period lies within its period (approving '2025' covers its quarters and months).
CREATE TABLE data_sets (
    unit_code   VARCHAR NOT NULL,                     -- KATO code or org_id
    kind        VARCHAR NOT NULL CHECK (kind IN ('indicator_values', 'budget', 'projects')),
    period      VARCHAR NOT NULL REFERENCES periods (code),
    state       VARCHAR NOT NULL CHECK (state IN ('open', 'submitted', 'approved', 'locked')),
    changed_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    changed_by  VARCHAR NOT NULL,
    comment     VARCHAR,                              -- the last return's comment or unlock's reason
    PRIMARY KEY (unit_code, kind, period)
);

-- Every transition, append-only (the audit log has the same with the actor's session).
CREATE SEQUENCE data_set_event_seq START 1;
CREATE TABLE data_set_events (
    event_id    BIGINT PRIMARY KEY DEFAULT nextval('data_set_event_seq'),
    unit_code   VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    period      VARCHAR NOT NULL,
    action      VARCHAR NOT NULL CHECK (action IN ('submit', 'return', 'approve', 'lock', 'unlock')),
    from_state  VARCHAR NOT NULL,
    to_state    VARCHAR NOT NULL,
    actor       VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    reason      VARCHAR
);
