-- A backup is recorded when it starts (state running) and updated when it
-- ends, so that the API can show it and refuse a second one. A running
-- backup beats heartbeat_at; one whose heartbeat stops (the process was
-- killed) is marked failed as interrupted. At most one backup runs at once.
ALTER TABLE backup_runs ADD COLUMN state TEXT NOT NULL DEFAULT 'failed';
ALTER TABLE backup_runs ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0;
UPDATE backup_runs SET state = CASE WHEN ok THEN 'succeeded' ELSE 'failed' END;
CREATE UNIQUE INDEX backup_runs_one_running ON backup_runs (kind) WHERE state = 'running';
