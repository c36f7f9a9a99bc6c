package sqlite

import (
	"context"
	"fmt"
)

// buildCacheKiB bounds the write connection's page cache, and with it the
// in-memory part of each sort, while indexes are built. Memory the sort
// frees stays with the C allocator under modernc, so this is also what the
// build adds to the process for good: building the indexes of 60k synthetic
// entities took 18 MB of peak RSS with 16 MiB, none with 8 MiB, for the
// same CPU time (5.4 and 5.0 s): the sort's runs are merged from temporary
// files in one pass either way.
const buildCacheKiB = 8192

// secondaryIndexes are the indexes a bulk load drops and builds afterwards:
// the costly ones (about 28 search rows and 6 relation rows per entity, at
// random places) that no write needs, in the order they are built: those
// of the relations.<type>=<ref> filter and of the search filters first,
// the catalog page's kind/name walk next, the one that only deletes use
// last (the kind/name index takes every entity at a random place within
// its kind; while it is missing the catalog page walks the search rows).
// The kind index and the relations' own key stay. They must match the migrations;
// TestSecondaryIndexesMatchMigrations checks.
var secondaryIndexes = []struct{ name, def string }{
	{"relations_type_target", "relations (type_lower, target_ref, source_ref)"},
	{"search_key_value", "search (key, value, original, is_min)"},
	{"entities_kind_name", "entities (lower(kind), lower(name), uid)"},
	{"relations_originating", "relations (originating_ref)"},
}

// BulkBegin drops the secondary indexes when the catalog is empty; see
// store.BulkStore.
func (db *DB) BulkBegin(ctx context.Context) (bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return false, dbErr(ctx, err, "begin bulk load")
	}
	defer tx.Rollback()
	var any int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM entities LIMIT 1)").Scan(&any); err != nil {
		return false, dbErr(ctx, err, "bulk load: check for entities")
	}
	if any > 0 {
		return false, nil
	}
	for _, ix := range secondaryIndexes {
		if _, err := tx.ExecContext(ctx, "DROP INDEX IF EXISTS "+ix.name); err != nil {
			return false, dbErr(ctx, err, "bulk load: drop index "+ix.name)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, dbErr(ctx, err, "begin bulk load")
	}
	return true, nil
}

// BulkEnd builds the secondary indexes; see store.BulkStore. (SQLite keeps
// no statistics that Atrium's queries rely on: sqlplan picks the selective
// filter itself.)
func (db *DB) BulkEnd(ctx context.Context) error {
	_, err := db.ensureIndexes(ctx)
	return err
}

// ensureIndexes creates the secondary indexes that are missing and reports
// whether any was.
func (db *DB) ensureIndexes(ctx context.Context) (bool, error) {
	have := map[string]bool{}
	names, err := db.strings(ctx, db.write, "SELECT name FROM sqlite_master WHERE type = 'index'")
	if err != nil {
		return false, err
	}
	for _, n := range names {
		have[n] = true
	}
	var missing []string
	for _, ix := range secondaryIndexes {
		if !have[ix.name] {
			missing = append(missing, "CREATE INDEX IF NOT EXISTS "+ix.name+" ON "+ix.def)
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	// The sort behind an index build keeps up to the page cache's size in
	// memory and spills the rest to temporary files; keep those on disk and
	// the cache small, so building stays within the memory budget.
	if _, err := db.write.ExecContext(ctx, fmt.Sprintf("PRAGMA temp_store = FILE; PRAGMA cache_size = -%d", min(db.writeCacheKiB, buildCacheKiB))); err != nil {
		return false, dbErr(ctx, err, "build indexes")
	}
	defer db.write.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA temp_store = MEMORY; PRAGMA cache_size = -%d", db.writeCacheKiB))
	// One transaction per index, in the order of secondaryIndexes: each is
	// used by readers as soon as it is committed, the filter indexes first.
	for _, stmt := range missing {
		if err := db.buildIndex(ctx, stmt); err != nil {
			return false, err
		}
	}
	return true, nil
}

// buildIndex runs one CREATE INDEX in its own transaction.
func (db *DB) buildIndex(ctx context.Context, stmt string) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(ctx, err, "begin index build")
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return dbErr(ctx, err, "build index")
	}
	if err := tx.Commit(); err != nil {
		return dbErr(ctx, err, "commit index build")
	}
	return nil
}
