-- Long-running external work with its resume token (internal/operations):
-- any replica resumes what another started.
CREATE TABLE operations (
    id              text        PRIMARY KEY,
    key             text        NOT NULL,
    task_id         text        NOT NULL DEFAULT '',
    step_id         text        NOT NULL DEFAULT '',
    plugin_id       text        NOT NULL DEFAULT '',
    system          text        NOT NULL DEFAULT '',
    kind            text        NOT NULL DEFAULT '',
    entity_ref      text        NOT NULL DEFAULT '',
    external_id     text        NOT NULL DEFAULT '',
    external_url    text        NOT NULL DEFAULT '',
    token           text        NOT NULL DEFAULT '',
    state           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    error_system    text        NOT NULL DEFAULT '',
    error_answer    text        NOT NULL DEFAULT '',
    error_action    text        NOT NULL DEFAULT '',
    cancel_requested boolean    NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX operations_key ON operations (key, created_at);
CREATE INDEX operations_task ON operations (task_id, created_at);
CREATE INDEX operations_state ON operations (state, created_at);
CREATE INDEX operations_created ON operations (created_at);
