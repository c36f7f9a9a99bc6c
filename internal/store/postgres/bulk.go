package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// secondaryIndexes are the indexes a bulk load drops and builds afterwards:
// the costly ones (the search rows, the full-text GIN index) that no write
// needs; the cheap ones that serve the common filters stay. They
// must match the migrations; TestSecondaryIndexesMatchMigrations checks.
var secondaryIndexes = []struct{ name, def string }{
	{"entity_text_doc", "entity_text USING gin (doc)"},
	{"relations_originating", "relations (originating_ref)"},
	{"search_key_value", "search (key, value) INCLUDE (entity_id, is_min, original)"},
}

// BulkBegin drops the secondary indexes when the catalog is empty; see
// store.BulkStore. The check and the drops share one transaction holding
// the entities table's lock, so a replica writing meanwhile waits.
func (db *DB) BulkBegin(ctx context.Context) (bool, error) {
	// Most passes run on a loaded catalog: answer those without a lock.
	var loaded bool
	if err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM entities)").Scan(&loaded); err != nil {
		return false, dbErr(ctx, err, "bulk load: check for entities")
	}
	if loaded {
		return false, nil
	}
	began := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE entities IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return dbErr(ctx, err, "bulk load: lock entities")
		}
		var any bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM entities)").Scan(&any); err != nil {
			return dbErr(ctx, err, "bulk load: check for entities")
		}
		if any {
			return nil
		}
		for _, ix := range secondaryIndexes {
			if _, err := tx.Exec(ctx, "DROP INDEX IF EXISTS "+ix.name); err != nil {
				return dbErr(ctx, err, "bulk load: drop index "+ix.name)
			}
		}
		began = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return began, nil
}

// BulkEnd builds the secondary indexes and refreshes the planner's
// statistics (a planner that still believes the tables are empty picks
// sequential scans); see store.BulkStore.
func (db *DB) BulkEnd(ctx context.Context) error {
	built, err := db.ensureIndexes(ctx)
	if err != nil || !built {
		return err
	}
	if _, err := db.pool.Exec(ctx, "ANALYZE entities, search, relations, entity_text"); err != nil {
		return dbErr(ctx, err, "bulk load: analyze")
	}
	return nil
}

// ensureIndexes creates the secondary indexes that are missing and reports
// whether any was.
func (db *DB) ensureIndexes(ctx context.Context) (bool, error) {
	rows, err := db.pool.Query(ctx, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
	if err != nil {
		return false, dbErr(ctx, err, "list indexes")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, dbErr(ctx, err, "list indexes")
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	built := false
	for _, ix := range secondaryIndexes {
		if have[ix.name] {
			continue
		}
		if _, err := db.pool.Exec(ctx, "CREATE INDEX IF NOT EXISTS "+ix.name+" ON "+ix.def); err != nil {
			return false, dbErr(ctx, err, "build index "+ix.name)
		}
		built = true
	}
	return built, nil
}
