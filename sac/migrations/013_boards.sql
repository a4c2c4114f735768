-- 013_boards: the weekly information boards (Rules para 2.3, 68.4; issue 11). A board is a snapshot of a node of
-- the goal map (or of the whole SAC, node_id 'SAC') for one ISO week in one language, kept as it was built: rows
-- are only ever inserted (sac/boards/archive.py has no UPDATE or DELETE); a new build of the same node, week and
-- language is the next revision, and the earlier ones stay readable. Times are naive UTC.
CREATE SEQUENCE board_seq START 1;
CREATE TABLE boards (
    board_id            BIGINT PRIMARY KEY DEFAULT nextval('board_seq'),
    node_id             VARCHAR NOT NULL,          -- goal_nodes.node_id, or 'SAC' for the leadership board
    node_level          VARCHAR NOT NULL,          -- 'sac', 'national_priority', 'program', 'basic_direction', 'project_group'
    node_name           VARCHAR NOT NULL,          -- as printed on the board, in its language
    week                VARCHAR NOT NULL,          -- ISO week '2026-W49'
    language            VARCHAR NOT NULL CHECK (language IN ('en', 'ru', 'kk')),
    revision            INTEGER NOT NULL CHECK (revision >= 1),
    as_of               DATE NOT NULL,             -- the week's Sunday, or the build day while the week runs
    period              VARCHAR,                   -- the indicators' and rating's period reported
    data_version        BIGINT NOT NULL,           -- meta.data_version the board was built from
    methodology_version INTEGER NOT NULL,
    built_by            VARCHAR NOT NULL,          -- user name or 'cli:<os user>'
    built_at            TIMESTAMP NOT NULL,
    content_hash        VARCHAR NOT NULL,          -- hex SHA-256 of the board's content (sac.boards.model.Board.content)
    previous_board_id   BIGINT,                    -- the board its "what changed" section compares with
    state_json          VARCHAR NOT NULL,          -- what the next board of the node compares with (sac/boards/changes.py)
    pdf                 BLOB NOT NULL,
    xlsx                BLOB NOT NULL,
    UNIQUE (node_id, week, language, revision)
);
