package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// stagingDB opens a migrated database in a bulk load that stages every
// relation row and merges only when told to (BulkEnd, or the thresholds a
// test sets).
func stagingDB(t *testing.T) *DB {
	t.Helper()
	db := openTest(t)
	beginStaging(t, db)
	return db
}

func beginStaging(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if began, err := db.BulkBegin(ctx); err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	db.mu.Lock()
	db.stage.afterRows, db.stage.mergeRows, db.stage.mergeAge = 0, 1_000_000, time.Hour
	db.mu.Unlock()
}

// relRec is a component with an ownedBy relation to each of owners.
func relRec(name string, owners ...string) catalog.Record {
	ref := "component:default/" + name
	r := catalog.Record{Ref: ref, Kind: "Component", Namespace: "default", Name: name, Body: []byte(`{}`), Hash: name}
	for _, o := range owners {
		r.Relations = append(r.Relations, catalog.RelationRow{Source: ref, Type: "ownedBy", Target: "group:default/" + o})
	}
	return r
}

func upsertRecs(t *testing.T, db *DB, recs ...catalog.Record) {
	t.Helper()
	if _, err := db.EntityUpsert(context.Background(), store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatalf("EntityUpsert: %v", err)
	}
}

// rowsIn returns "originating>target" for each row of table, sorted.
func rowsIn(t *testing.T, db *DB, table string) []string {
	t.Helper()
	got, err := db.strings(context.Background(), db.write, "SELECT originating_ref || '>' || target_ref FROM "+table+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// targets returns the targets of ref's relations as a reader sees them.
func targets(t *testing.T, db *DB, ref string) []string {
	t.Helper()
	e, err := db.EntityGetByRef(context.Background(), ref)
	if err != nil {
		t.Fatalf("EntityGetByRef(%s): %v", ref, err)
	}
	out := []string{}
	for _, r := range e.Relations {
		out = append(out, r.TargetRef)
	}
	slices.Sort(out)
	return out
}

func TestStagedRelationsMergedAtBulkEnd(t *testing.T) {
	ctx := context.Background()
	db := stagingDB(t)
	upsertRecs(t, db, relRec("a", "t1", "t2"))
	if got, want := rowsIn(t, db, "relations_staged"), []string{"component:default/a>group:default/t1", "component:default/a>group:default/t2"}; !slices.Equal(got, want) {
		t.Errorf("staged: got %v, want %v", got, want)
	}
	if got := rowsIn(t, db, "relations"); len(got) != 0 {
		t.Errorf("relations before the merge: got %v, want none", got)
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rowsIn(t, db, "relations_staged"); len(got) != 0 {
		t.Errorf("staged after BulkEnd: got %v, want none", got)
	}
	if got, want := targets(t, db, "component:default/a"), []string{"group:default/t1", "group:default/t2"}; !slices.Equal(got, want) {
		t.Errorf("relations after BulkEnd: got %v, want %v", got, want)
	}
	// Outside a bulk load, relations are written with their entity.
	upsertRecs(t, db, relRec("b", "t3"))
	if got := rowsIn(t, db, "relations_staged"); len(got) != 0 {
		t.Errorf("staged after the bulk load: got %v, want none", got)
	}
	if got, want := targets(t, db, "component:default/b"), []string{"group:default/t3"}; !slices.Equal(got, want) {
		t.Errorf("relations after the bulk load: got %v, want %v", got, want)
	}
}

func TestStagedRelationsMergedByRowsAndAge(t *testing.T) {
	db := stagingDB(t)
	db.mu.Lock()
	db.stage.mergeRows = 3
	db.mu.Unlock()
	upsertRecs(t, db, relRec("a", "t1", "t2"))
	if got := len(rowsIn(t, db, "relations_staged")); got != 2 {
		t.Fatalf("staged rows below the batch: got %v, want %v", got, 2)
	}
	upsertRecs(t, db, relRec("b", "t3"))
	if got := rowsIn(t, db, "relations_staged"); len(got) != 0 {
		t.Errorf("staged at the batch: got %v, want none", got)
	}
	if got, want := targets(t, db, "component:default/b"), []string{"group:default/t3"}; !slices.Equal(got, want) {
		t.Errorf("relations at the batch: got %v, want %v", got, want)
	}

	// One row, staged longer ago than the age bound: the next write merges.
	upsertRecs(t, db, relRec("c", "t4"))
	if got := len(rowsIn(t, db, "relations_staged")); got != 1 {
		t.Fatalf("staged rows: got %v, want %v", got, 1)
	}
	db.mu.Lock()
	db.stage.since = db.stage.since.Add(-db.stage.mergeAge)
	db.mu.Unlock()
	upsertRecs(t, db, relRec("d"))
	if got := rowsIn(t, db, "relations_staged"); len(got) != 0 {
		t.Errorf("staged past the age bound: got %v, want none", got)
	}
	if got, want := targets(t, db, "component:default/c"), []string{"group:default/t4"}; !slices.Equal(got, want) {
		t.Errorf("relations past the age bound: got %v, want %v", got, want)
	}
}

func TestStagedRelationsReplacedAndDeleted(t *testing.T) {
	ctx := context.Background()
	db := stagingDB(t)
	upsertRecs(t, db, relRec("a", "t1", "t2"), relRec("b", "t1"), relRec("c", "t5"))
	// Merged rows of c, then staged ones again: both are replaced.
	if err := db.mergeAllStaged(ctx); err != nil {
		t.Fatal(err)
	}
	upsertRecs(t, db, relRec("c", "t6"))
	// a is written again with other relations, b is deleted.
	upsertRecs(t, db, relRec("a", "t3"))
	if got, want := rowsIn(t, db, "relations_staged"), []string{"component:default/a>group:default/t3", "component:default/c>group:default/t6"}; !slices.Equal(got, want) {
		t.Errorf("staged after rewriting a and c: got %v, want %v", got, want)
	}
	upsertRecs(t, db, relRec("c", "t7"))
	if err := db.EntityDelete(ctx, []string{"component:default/b"}); err != nil {
		t.Fatal(err)
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"component:default/a>group:default/t3", "component:default/c>group:default/t7"}
	if got := rowsIn(t, db, "relations"); !slices.Equal(got, want) {
		t.Errorf("relations after BulkEnd: got %v, want %v", got, want)
	}
}

func TestStagedRelationsMergedAfterCrash(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	db, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	beginStaging(t, db)
	want := indexSQL(t, db)
	upsertRecs(t, db, relRec("a", "t1", "t2"), relRec("b", "t1"))
	if err := db.mergeAllStaged(ctx); err != nil {
		t.Fatal(err)
	}
	upsertRecs(t, db, relRec("c", "t3"))
	// The process dies: no BulkEnd.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := rowsIn(t, db, "relations_staged"); len(got) != 1 {
		t.Fatalf("staged rows after reopening: got %v, want one", got)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rowsIn(t, db, "relations_staged"); len(got) != 0 {
		t.Errorf("staged after Migrate: got %v, want none", got)
	}
	wantRows := []string{"component:default/a>group:default/t1", "component:default/a>group:default/t2",
		"component:default/b>group:default/t1", "component:default/c>group:default/t3"}
	if got := rowsIn(t, db, "relations"); !slices.Equal(got, wantRows) {
		t.Errorf("relations after Migrate: got %v, want %v", got, wantRows)
	}
	if got := indexSQL(t, db); len(got) <= len(want) {
		t.Errorf("indexes after Migrate: got %d, want more than the %d of the bulk load", len(got), len(want))
	}
	// A second start finds nothing to do.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rowsIn(t, db, "relations"); !slices.Equal(got, wantRows) {
		t.Errorf("relations after a second Migrate: got %v, want %v", got, wantRows)
	}
}

// TestSmallBulkLoadWritesRelationsDirectly checks that a bulk load stages
// only once stageAfterRows relation rows are written: the first ones are
// readable with their entity.
func TestSmallBulkLoadWritesRelationsDirectly(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if began, err := db.BulkBegin(ctx); err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	db.mu.Lock()
	db.stage.afterRows = 2
	db.mu.Unlock()
	upsertRecs(t, db, relRec("a", "t1", "t2"))
	if got, want := targets(t, db, "component:default/a"), []string{"group:default/t1", "group:default/t2"}; !slices.Equal(got, want) {
		t.Errorf("relations below the threshold: got %v, want %v", got, want)
	}
	upsertRecs(t, db, relRec("b", "t3"))
	if got, want := rowsIn(t, db, "relations_staged"), []string{"component:default/b>group:default/t3"}; !slices.Equal(got, want) {
		t.Errorf("staged past the threshold: got %v, want %v", got, want)
	}
}
