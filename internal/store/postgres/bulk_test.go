package postgres

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// indexDefs returns the definitions of the schema's indexes, sorted.
func indexDefs(t testing.TB, db *DB) []string {
	t.Helper()
	rows, err := db.pool.Query(context.Background(), "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname")
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

func TestSecondaryIndexesMatchMigrations(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	want := indexDefs(t, db)

	began, err := db.BulkBegin(ctx)
	if err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	// Every listed index exists in the migrations: each one was dropped.
	if got := len(indexDefs(t, db)); got != len(want)-len(secondaryIndexes) {
		t.Errorf("indexes during a bulk load: got %v, want %v", got, len(want)-len(secondaryIndexes))
	}
	// A process that dies here leaves the indexes missing: Migrate builds them.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexDefs(t, db); !slices.Equal(got, want) {
		t.Errorf("after Migrate: got %v, want %v", got, want)
	}

	if _, err := db.BulkBegin(ctx); err != nil {
		t.Fatal(err)
	}
	// Upserts commit asynchronously only while the load lasts.
	if !db.bulk.Load() {
		t.Errorf("bulk load flag during a bulk load: got false, want true")
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if db.bulk.Load() {
		t.Errorf("bulk load flag after BulkEnd: got true, want false")
	}
	if got := indexDefs(t, db); !slices.Equal(got, want) {
		t.Errorf("after BulkEnd: got %v, want %v", got, want)
	}
}

// TestVacuumAfterBulkLoad: the end of a bulk load vacuums the loaded
// tables in the background (the visibility map of a freshly loaded table
// is empty, so index-only scans would read the table), and Close waits
// for it.
func TestVacuumAfterBulkLoad(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	if began, err := db.BulkBegin(ctx); err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	db.bg.Wait()
	for _, table := range []string{"entities", "relations", "search", "entity_text"} {
		var vacuumed bool
		err := db.pool.QueryRow(ctx, "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = $1", table).Scan(&vacuumed)
		if err != nil {
			t.Fatal(err)
		}
		if !vacuumed {
			t.Errorf("%s: not vacuumed after the bulk load", table)
		}
	}
	// The connection that vacuumed got its statement timeout back.
	var timeout string
	if err := db.pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil || timeout == "0" {
		t.Errorf("statement_timeout after the vacuum: got %q, %v", timeout, err)
	}
}

// TestIndexLanesCoverSecondaryIndexes: every deferred index is built by
// exactly one lane, after nothing that analyzes its table.
func TestIndexLanesCoverSecondaryIndexes(t *testing.T) {
	lane := map[string]int{}
	for i, steps := range indexLanes {
		for _, s := range steps {
			if _, dup := lane[s]; dup {
				t.Errorf("%s: in more than one step", s)
			}
			lane[s] = i
		}
	}
	for _, ix := range secondaryIndexes {
		i, ok := lane[ix.name]
		if !ok {
			t.Errorf("%s: in no lane", ix.name)
			continue
		}
		ti, ok := lane[ix.table]
		if !ok {
			t.Errorf("%s: table %s is never analyzed", ix.name, ix.table)
			continue
		}
		if ti != i || slices.Index(indexLanes[i], ix.table) < slices.Index(indexLanes[i], ix.name) {
			t.Errorf("%s: table %s is analyzed before the index is built", ix.name, ix.table)
		}
	}
}

// TestBulkEndServesRelationsFirst: while the end of a bulk load still waits
// to build the full-text index, the relation and search indexes are built
// and their tables analyzed, so that readers' filters have them.
func TestBulkEndServesRelationsFirst(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	if began, err := db.BulkBegin(ctx); err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	// Another transaction holds entity_text, which CREATE INDEX must wait for.
	hold, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx) //nolint:errcheck // committed below
	if _, err := hold.Exec(ctx, "LOCK TABLE entity_text IN ROW EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- db.BulkEnd(ctx) }()

	ready := func() bool {
		var n int
		err := db.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()
			   AND indexname IN ('relations_type_target', 'relations_originating', 'search_key_value')) +
			(SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = current_schema()
			   AND relname IN ('relations', 'search', 'entities') AND last_analyze IS NOT NULL)`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n == 6
	}
	// A generous bound, so that a build that waits for the lock fails the
	// test instead of hanging it.
	giveUp := time.After(time.Minute)
	for !ready() {
		select {
		case err := <-done:
			t.Fatalf("BulkEnd returned (%v) while entity_text was locked", err)
		case <-giveUp:
			t.Fatal("the relation and search indexes were not ready while entity_text was locked")
		case <-time.After(20 * time.Millisecond):
		}
	}
	var gin bool
	if err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'entity_text_doc')").Scan(&gin); err != nil {
		t.Fatal(err)
	}
	if gin {
		t.Errorf("entity_text_doc built while entity_text was locked")
	}
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var analyzed bool
	if err := db.pool.QueryRow(ctx, "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'entity_text'").Scan(&analyzed); err != nil {
		t.Fatal(err)
	}
	if !analyzed {
		t.Errorf("entity_text: not analyzed after BulkEnd")
	}
}

// TestBulkSettings: a transaction of a bulk load (upserts, edges) commits
// without waiting for the disk; any other keeps the server's setting.
func TestBulkSettings(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	setting := func() string {
		t.Helper()
		var got string
		err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
			if err := db.bulkSettings(ctx, tx); err != nil {
				return err
			}
			return tx.QueryRow(ctx, "SHOW synchronous_commit").Scan(&got)
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	var server string
	if err := db.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&server); err != nil {
		t.Fatal(err)
	}
	if got := setting(); got != server {
		t.Errorf("synchronous_commit outside a bulk load: got %q, want %q", got, server)
	}
	db.bulk.Store(true)
	defer db.bulk.Store(false)
	if got := setting(); got != "off" {
		t.Errorf("synchronous_commit in a bulk load: got %q, want off", got)
	}
}

// TestCompareRelationRows: relation rows are copied in the order of the
// relations_source index (source, type_lower, target), then by
// originating entity.
func TestCompareRelationRows(t *testing.T) {
	row := func(orig, src, typ, target string) []any {
		return []any{orig, src, typ, strings.ToLower(typ), target}
	}
	got := [][]any{
		row("component:default/b", "component:default/b", "ownedBy", "group:default/x"),
		row("group:default/x", "component:default/a", "ownedBy", "group:default/x"),
		row("component:default/a", "component:default/a", "dependsOn", "resource:default/z"),
		row("component:default/a", "component:default/a", "ownedBy", "group:default/x"),
	}
	slices.SortFunc(got, compareRelationRows)
	want := [][]any{
		row("component:default/a", "component:default/a", "dependsOn", "resource:default/z"),
		row("component:default/a", "component:default/a", "ownedBy", "group:default/x"),
		row("group:default/x", "component:default/a", "ownedBy", "group:default/x"),
		row("component:default/b", "component:default/b", "ownedBy", "group:default/x"),
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// tableCounts returns, per table, how many rows the entities table and
// the rows written beside each entity hold, and the distinct UIDs.
func tableCounts(t testing.TB, db *DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, q := range map[string]string{
		"entities":    "SELECT count(*) FROM entities",
		"uids":        "SELECT count(DISTINCT uid) FROM entities",
		"search":      "SELECT count(*) FROM search",
		"relations":   "SELECT count(*) FROM relations",
		"entity_text": "SELECT count(*) FROM entity_text",
	} {
		var n int
		if err := db.pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// TestBulkUpsertInParts: a bulk load's batch, written as parts at once,
// reports what one transaction reports (written refs in the given order,
// conflicts with both location keys), gives two records of one UID two
// UIDs even when they fall in different parts, keeps the UID an existing
// entity holds, and writes the same rows.
func TestBulkUpsertInParts(t *testing.T) {
	ctx := context.Background()
	const n = bulkParts * bulkPartMin * 2
	batch := func() []catalog.Record {
		recs := make([]catalog.Record, 0, n+1)
		for i := range n {
			recs = append(recs, storetest.Synthetic(i, n))
		}
		// The first and the last ref (sorted) share a UID: they are in
		// different parts.
		slices.SortFunc(recs, func(a, b catalog.Record) int { return strings.Compare(a.Ref, b.Ref) })
		recs[n-1].UID = recs[0].UID
		// One record takes the UID of an entity written before; another
		// (swapped out of ref order) comes from a location other than its
		// existing entity's.
		recs[n/2].UID = "held-uid"
		recs[n/3+1], recs[n/3] = recs[n/3], recs[n/3+1]
		return append(recs, storetest.Synthetic(n+2, n))
	}
	var results []store.EntityUpsertResult
	var counts []map[string]int
	for _, bulk := range []bool{false, true} {
		db := openMigrated(t)
		held := storetest.Synthetic(n+3, n)
		held.UID = "held-uid"
		recs := batch()
		owner := recs[n/3+1] // the record swapped above holds the contested ref
		owner.LocationKey, owner.UID = "url:other", "owner-uid"
		if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{held, owner}}); err != nil {
			t.Fatal(err)
		}
		db.bulk.Store(bulk)
		res, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs})
		db.bulk.Store(false)
		if err != nil {
			t.Fatalf("bulk %v: %v", bulk, err)
		}
		results = append(results, res)
		counts = append(counts, tableCounts(t, db))
		var uid string
		if err := db.pool.QueryRow(ctx, "SELECT uid FROM entities WHERE ref = $1", held.Ref).Scan(&uid); err != nil || uid != "held-uid" {
			t.Errorf("bulk %v: the entity holding a UID: got %q, %v, want held-uid", bulk, uid, err)
		}
	}
	if len(results[1].Conflicts) != 1 {
		t.Errorf("conflicts in parts: got %+v, want one", results[1].Conflicts)
	}
	if !reflect.DeepEqual(results[1], results[0]) {
		t.Errorf("result in parts: got %d written, conflicts %+v; want %d written, conflicts %+v (or the written refs differ)",
			len(results[1].Written), results[1].Conflicts, len(results[0].Written), results[0].Conflicts)
	}
	if !reflect.DeepEqual(counts[1], counts[0]) {
		t.Errorf("rows in parts: got %v, want %v", counts[1], counts[0])
	}
	if counts[1]["uids"] != counts[1]["entities"] {
		t.Errorf("in parts: %d UIDs for %d entities", counts[1]["uids"], counts[1]["entities"])
	}
}

// TestBulkUpsertPartFails: when one part of a bulk load's batch fails, the
// upsert reports the error, and each entity is either whole (search rows,
// relations, full text) or absent, as after a crash between two batches;
// writing the batch again completes it.
func TestBulkUpsertPartFails(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	const n = bulkParts * bulkPartMin
	recs := make([]catalog.Record, n)
	for i := range recs {
		recs[i] = storetest.Synthetic(i, n)
	}
	slices.SortFunc(recs, func(a, b catalog.Record) int { return strings.Compare(a.Ref, b.Ref) })
	bad := recs[n-1]
	recs[n-1].Name = "nul\x00byte" // PostgreSQL refuses a NUL in text
	began, err := db.BulkBegin(ctx)
	if err != nil || !began {
		t.Fatalf("BulkBegin: %v, %v", began, err)
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err == nil {
		t.Fatal("upsert with a NUL in a name: no error")
	}
	var partial int
	err = db.pool.QueryRow(ctx, `SELECT count(*) FROM entities e WHERE
		NOT EXISTS (SELECT 1 FROM search s WHERE s.entity_id = e.id)
		OR NOT EXISTS (SELECT 1 FROM relations r WHERE r.originating_ref = e.ref)
		OR NOT EXISTS (SELECT 1 FROM entity_text x WHERE x.entity_id = e.id)`).Scan(&partial)
	if err != nil {
		t.Fatal(err)
	}
	if partial != 0 {
		t.Errorf("%d entities written without their rows", partial)
	}
	got := tableCounts(t, db)
	if got["entities"] != 0 && got["entities"] != n/bulkParts {
		t.Errorf("entities after a part failed: got %d, want 0 or %d (one part)", got["entities"], n/bulkParts)
	}
	recs[n-1] = bad
	res, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tableCounts(t, db); len(res.Written) != n || got["entities"] != n || got["uids"] != n {
		t.Errorf("written again: %d written, %v; want %d entities", len(res.Written), got, n)
	}
}
