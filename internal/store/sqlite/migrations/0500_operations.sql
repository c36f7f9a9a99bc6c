-- Long-running external work with its resume token (internal/operations):
-- any replica resumes what another started.
CREATE TABLE operations (
    id              TEXT    PRIMARY KEY,
    key             TEXT    NOT NULL,
    task_id         TEXT    NOT NULL DEFAULT '',
    step_id         TEXT    NOT NULL DEFAULT '',
    plugin_id       TEXT    NOT NULL DEFAULT '',
    system          TEXT    NOT NULL DEFAULT '',
    kind            TEXT    NOT NULL DEFAULT '',
    entity_ref      TEXT    NOT NULL DEFAULT '',
    external_id     TEXT    NOT NULL DEFAULT '',
    external_url    TEXT    NOT NULL DEFAULT '',
    token           TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    error_system    TEXT    NOT NULL DEFAULT '',
    error_answer    TEXT    NOT NULL DEFAULT '',
    error_action    TEXT    NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX operations_key ON operations (key, created_at);
CREATE INDEX operations_task ON operations (task_id, created_at);
CREATE INDEX operations_state ON operations (state, created_at);
CREATE INDEX operations_created ON operations (created_at);
