-- Entity changes: the id of every entity row inserted, updated or deleted,
-- in commit order (one writer at a time; AUTOINCREMENT never reuses a
-- seq). Counting totals keeps the id sets of filter conditions between
-- counts and brings them up to date from this log instead of reading them
-- again (internal/store/sqlplan/setcache.go). Search rows change only with
-- their entity's row, so the log names every entity whose search rows
-- changed, whoever wrote them.
CREATE TABLE entity_changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id INTEGER NOT NULL
);

CREATE TRIGGER entity_changes_insert AFTER INSERT ON entities
BEGIN
    INSERT INTO entity_changes (entity_id) VALUES (NEW.id);
END;

CREATE TRIGGER entity_changes_update AFTER UPDATE ON entities
BEGIN
    INSERT INTO entity_changes (entity_id) VALUES (NEW.id);
END;

CREATE TRIGGER entity_changes_delete AFTER DELETE ON entities
BEGIN
    INSERT INTO entity_changes (entity_id) VALUES (OLD.id);
END;

-- The log keeps the last 100 000 changes. A reader further behind sees a
-- gap in the seqs and reads its sets again.
CREATE TRIGGER entity_changes_prune AFTER INSERT ON entity_changes
WHEN NEW.seq % 10000 = 0
BEGIN
    DELETE FROM entity_changes WHERE seq <= NEW.seq - 100000;
END;
