-- Relation rows of a first bulk load, staged in arrival order (rowid) and
-- merged into relations in that table's key order in large batches (see
-- internal/store/sqlite/stage.go): inserting each transaction's rows at
-- random places of the keyed table rewrote nearly one page per row.
-- Rows are only here while a bulk load lasts; Migrate merges any that an
-- interrupted load left. The index serves the per-entity replacement.
CREATE TABLE relations_staged (
    originating_ref TEXT NOT NULL,
    source_ref      TEXT NOT NULL,
    type            TEXT NOT NULL,
    type_lower      TEXT NOT NULL,
    target_ref      TEXT NOT NULL
);
CREATE INDEX relations_staged_originating ON relations_staged (originating_ref);
-- A deleted entity takes its staged relation rows along, as it does its
-- merged ones (EntityDelete deletes those by originating_ref).
CREATE TRIGGER relations_staged_entity_delete AFTER DELETE ON entities
BEGIN
    DELETE FROM relations_staged WHERE originating_ref = old.ref;
END;
