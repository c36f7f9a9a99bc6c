package postgres

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// secondaryIndexes are the indexes a bulk load drops and builds afterwards:
// the costly ones (the search rows, the full-text GIN index, the relation
// indexes other than the one that reads an entity's own relations, the
// catalog page's index of entities by kind and name, three expressions
// per entity) that no write needs. They must match the migrations;
// TestSecondaryIndexesMatchMigrations checks.
var secondaryIndexes = []struct{ name, table, def string }{
	{"entities_kind_name", "entities", `entities (lower(kind), (lower(name) COLLATE "C"), uid)`},
	{"entity_text_doc", "entity_text", "entity_text USING gin (doc)"},
	{"relations_originating", "relations", "relations (originating_ref)"},
	{"relations_type_target", "relations", "relations (type_lower, target_ref, source_ref)"},
	{"search_key_value", "search", "search (key, value) INCLUDE (entity_id, is_min, original)"},
}

// indexLanes are the steps that follow a bulk load, in two lanes that run
// at once, each on its own connection: an index name builds that index (if
// it is missing), a table name analyzes that table. The catalog is served
// meanwhile, so each lane puts first what readers wait for most: the
// relation filters (relations.<type>=…, a full scan of the relations
// until their index and statistics are there) and then the search rows
// (every other filter and facet); full text comes last. Each table is
// analyzed as soon as its indexes are built, so that the planner stops
// believing it empty without waiting for the other lane. Two lanes rather
// than four builds at once: with four, the index builds and their parallel
// workers took a small server's cores from the readers until all of them
// were done.
var indexLanes = [][]string{
	{"relations_type_target", "relations_originating", "relations", "entity_text_doc", "entity_text"},
	{"entities_kind_name", "entities", "search_key_value", "search"},
}

// BulkBegin drops the secondary indexes when the catalog is empty; see
// store.BulkStore. Until BulkEnd, this process's upserts commit without
// waiting for the write-ahead log to reach the disk (synchronous_commit
// off): a crash of the database server may lose the last commits of the
// load, never consistency, and the next start loads them again (a file
// unchanged since a commit that was lost is still read: the engine
// remembers files only in memory). The check and the drops share one transaction holding
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
	if began {
		db.bulk.Store(true)
	}
	return began, nil
}

// bulkSettings makes a transaction of this process's bulk load commit
// without waiting for the write-ahead log to reach the disk (see
// BulkBegin): the catalog's upserts and the edges written at the end of
// the pass, one transaction per Location, which otherwise wait for one
// disk flush each.
func (db *DB) bulkSettings(ctx context.Context, tx pgx.Tx) error {
	if !db.bulk.Load() {
		return nil
	}
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
		return dbErr(ctx, err, "bulk load settings")
	}
	return nil
}

// BulkEnd builds the secondary indexes and refreshes the planner's
// statistics (a planner that still believes the tables are empty picks
// sequential scans); see store.BulkStore.
func (db *DB) BulkEnd(ctx context.Context) error {
	defer db.bulk.Store(false)
	built, err := db.ensureIndexes(ctx)
	if err != nil || !built {
		return err
	}
	db.bg.Add(1)
	go func() {
		defer db.bg.Done()
		db.vacuumAfterBulk(db.life)
	}()
	return nil
}

// vacuumAfterBulk vacuums the loaded tables once, in the background: a
// bulk load leaves every page without its all-visible bit, so every
// index-only scan (counts, facets, the policy's probes) also reads the
// table until a vacuum sets them — and autovacuum may be off or far
// behind. The catalog is served meanwhile; a failure is logged, as it
// only costs speed.
func (db *DB) vacuumAfterBulk(ctx context.Context) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() == nil {
			slog.Warn("postgres: vacuum after bulk load: no connection", "err", err)
		}
		return
	}
	defer conn.Release()
	// The vacuum of a large catalog may outlast the statement timeout, and
	// it is throttled as autovacuum is (cost-based delay), so that it
	// leaves the database to the catalog's readers; the connection gets its
	// settings back before it returns to the pool.
	if _, err := conn.Exec(ctx, "SET statement_timeout = 0; SET vacuum_cost_delay = '2ms'"); err != nil {
		conn.Conn().Close(context.Background()) //nolint:errcheck // the pool replaces it
		return
	}
	// Relations first: every entity read (by name, by uid, a page's
	// relations column) and the policy's owner probes scan its index for
	// the relations of the rows they return.
	t0 := time.Now()
	_, err = conn.Exec(ctx, "VACUUM relations, entities, search, entity_text")
	if _, rerr := conn.Exec(context.Background(), "RESET statement_timeout; RESET vacuum_cost_delay"); rerr != nil {
		conn.Conn().Close(context.Background()) //nolint:errcheck // the pool replaces it
	}
	switch {
	case err != nil && ctx.Err() == nil:
		slog.Warn("postgres: vacuum after bulk load failed; index-only scans read the tables until autovacuum runs", "err", err)
	case err == nil:
		slog.Info("postgres: vacuumed after bulk load", "duration", time.Since(t0).Round(time.Millisecond))
	}
}

// ensureIndexes creates the secondary indexes that are missing, analyzes
// the tables (all of them, once something was missing: a bulk load or one
// cut short leaves their statistics stale) in the order of indexLanes, and
// reports whether any index was missing.
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
	defs := map[string]string{}
	missing := false
	for _, ix := range secondaryIndexes {
		defs[ix.name] = ix.def
		missing = missing || !have[ix.name]
	}
	if !missing {
		return false, nil
	}
	errs := make([]error, len(indexLanes))
	var wg sync.WaitGroup
	for i, lane := range indexLanes {
		wg.Go(func() {
			for _, step := range lane {
				var err error
				switch def, isIndex := defs[step]; {
				case !isIndex:
					err = db.maintain(ctx, "analyze "+step, "ANALYZE "+step)
				case !have[step]:
					err = db.buildIndex(ctx, step, def)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return false, err
	}
	return true, nil
}

// maintenanceSettings lift the statement timeout (an index over a large
// catalog may take longer to build than any query may run) and give an
// index build's sort more memory than the server's default of 64 MB, so
// that it stays in memory for a catalog of a few hundred thousand entities.
const maintenanceSettings = "SET LOCAL statement_timeout = 0; SET LOCAL maintenance_work_mem = '256MB'"

// maintain runs one maintenance statement in its own transaction.
func (db *DB) maintain(ctx context.Context, what, stmt string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, maintenanceSettings); err != nil {
			return dbErr(ctx, err, what)
		}
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return dbErr(ctx, err, what)
		}
		return nil
	})
}

// buildIndex creates one secondary index in its own transaction.
func (db *DB) buildIndex(ctx context.Context, name, def string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, maintenanceSettings); err != nil {
			return dbErr(ctx, err, "build index "+name)
		}
		// Replicas starting together may build the same index: the second
		// waits for the first, then finds it built (IF NOT EXISTS alone
		// races on the catalog's unique name).
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('atrium.index.' || $1::text))", name); err != nil {
			return dbErr(ctx, err, "build index "+name)
		}
		if _, err := tx.Exec(ctx, "CREATE INDEX IF NOT EXISTS "+name+" ON "+def); err != nil {
			return dbErr(ctx, err, "build index "+name)
		}
		return nil
	})
}
