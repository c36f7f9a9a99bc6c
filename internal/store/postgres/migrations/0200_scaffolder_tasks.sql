-- Scaffolder tasks: the spec, per-step state and sealed secrets are JSON or
-- ciphertext owned by internal/scaffolder.
CREATE TABLE scaffolder_tasks (
    id               text        PRIMARY KEY,
    template_ref     text        NOT NULL,
    status           text        NOT NULL,
    created_by       text        NOT NULL,
    created_at       timestamptz NOT NULL,
    last_heartbeat   timestamptz,
    runner           text        NOT NULL DEFAULT '',
    cancel_requested boolean     NOT NULL DEFAULT false,
    spec             text        NOT NULL,
    state            text        NOT NULL,
    secrets          text        NOT NULL DEFAULT ''
);
CREATE INDEX scaffolder_tasks_created ON scaffolder_tasks (created_at);
CREATE INDEX scaffolder_tasks_status ON scaffolder_tasks (status, last_heartbeat);
CREATE INDEX scaffolder_tasks_creator ON scaffolder_tasks (created_by, created_at);

CREATE TABLE scaffolder_task_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id    text        NOT NULL REFERENCES scaffolder_tasks (id) ON DELETE CASCADE,
    type       text        NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);
