-- Entity changes: the id of every entity row inserted, updated or deleted,
-- with the writing transaction's id. Counting totals keeps the id sets of
-- filter conditions between counts and brings them up to date from this
-- log instead of reading them again (internal/store/sqlplan/setcache.go):
-- a reader applies every row whose xid is at or above the oldest
-- transaction that was running when it last looked (pg_snapshot_xmin), so
-- a transaction that commits late is never skipped. Search rows change
-- only with their entity's row, so the log names every entity whose
-- search rows changed, whoever wrote them (any replica, any version).
CREATE TABLE entity_changes (
    xid       xid8   NOT NULL DEFAULT pg_current_xact_id(),
    entity_id bigint NOT NULL
);
CREATE INDEX entity_changes_xid ON entity_changes (xid);

-- below is the largest xid pruned from the log: a reader whose frontier
-- is not above it may have missed rows and reads its sets again.
CREATE TABLE entity_changes_pruned (
    id    integer PRIMARY KEY CHECK (id = 1),
    below xid8    NOT NULL
);
INSERT INTO entity_changes_pruned (id, below) VALUES (1, '0');

CREATE FUNCTION entity_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    me  bigint := pg_current_xact_id()::text::bigint;
    cut xid8;
BEGIN
    INSERT INTO entity_changes (entity_id) SELECT id FROM changed;
    -- About one writing transaction in a thousand drops the rows older
    -- than the last 1 000 000 transactions.
    IF me % 1000 = 0 AND me > 1000000 THEN
        cut := (me - 1000000)::text::xid8;
        UPDATE entity_changes_pruned
           SET below = greatest(below, (SELECT max(xid) FROM entity_changes WHERE xid < cut))
         WHERE EXISTS (SELECT 1 FROM entity_changes WHERE xid < cut);
        DELETE FROM entity_changes WHERE xid < cut;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER entity_changes_insert AFTER INSERT ON entities
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION entity_changes_log();
CREATE TRIGGER entity_changes_update AFTER UPDATE ON entities
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION entity_changes_log();
CREATE TRIGGER entity_changes_delete AFTER DELETE ON entities
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION entity_changes_log();

-- TRUNCATE (a restore into a running server) names no rows: it logs -1,
-- which makes readers read every set again.
CREATE FUNCTION entity_changes_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entity_changes (entity_id) VALUES (-1);
    RETURN NULL;
END
$$;
CREATE TRIGGER entity_changes_truncate AFTER TRUNCATE ON entities
    FOR EACH STATEMENT EXECUTE FUNCTION entity_changes_truncated();
