-- Backups and restores, for the operations page, /metrics and /readyz:
-- every replica and the CLI see the same history.
CREATE TABLE backup_runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text        NOT NULL,
    trigger     text        NOT NULL,
    name        text        NOT NULL DEFAULT '',
    target      text        NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    ok          boolean     NOT NULL,
    size        bigint      NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_kind ON backup_runs (kind, ok, finished_at);
