-- Scaffolder tasks: the spec, per-step state and sealed secrets are JSON or
-- ciphertext owned by internal/scaffolder.
CREATE TABLE scaffolder_tasks (
    id               TEXT    PRIMARY KEY,
    template_ref     TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    created_by       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL, -- unix microseconds
    last_heartbeat   INTEGER NOT NULL DEFAULT 0,
    runner           TEXT    NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    spec             TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    secrets          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX scaffolder_tasks_created ON scaffolder_tasks (created_at);
CREATE INDEX scaffolder_tasks_status ON scaffolder_tasks (status, last_heartbeat);
CREATE INDEX scaffolder_tasks_creator ON scaffolder_tasks (created_by, created_at);

CREATE TABLE scaffolder_task_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT    NOT NULL REFERENCES scaffolder_tasks (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);
