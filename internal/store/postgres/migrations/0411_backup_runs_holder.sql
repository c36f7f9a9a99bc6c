-- The process running a backup (host name and process id), so that a run
-- whose process is gone from this host is marked interrupted at once
-- instead of after its heartbeat goes stale.
ALTER TABLE backup_runs ADD COLUMN holder text NOT NULL DEFAULT '';
