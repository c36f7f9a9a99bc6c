package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// indexSQL returns the definitions of the indexes SQLite holds, sorted.
func indexSQL(t testing.TB, db *DB) []string {
	t.Helper()
	got, err := db.strings(context.Background(), db.write, "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSecondaryIndexesMatchMigrations(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	want := indexSQL(t, db)
	for _, ix := range secondaryIndexes {
		def := "CREATE INDEX " + ix.name + " ON " + ix.def
		if !slices.Contains(want, def) {
			t.Errorf("the migrations define no index %q; they define:\n%s", def, strings.Join(want, "\n"))
		}
	}

	began, err := db.BulkBegin(ctx)
	if err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	if got := len(indexSQL(t, db)); got != len(want)-len(secondaryIndexes) {
		t.Errorf("indexes during a bulk load: got %v, want %v", got, len(want)-len(secondaryIndexes))
	}
	// A process that dies here leaves the indexes missing: Migrate builds them.
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexSQL(t, db); !slices.Equal(got, want) {
		t.Errorf("after Migrate: got %v, want %v", got, want)
	}

	if _, err := db.BulkBegin(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexSQL(t, db); !slices.Equal(got, want) {
		t.Errorf("after BulkEnd: got %v, want %v", got, want)
	}
}

// TestCachedStatementsSurviveBulkLoad reads through the prepared-statement
// cache before, during and after the schema changes of a bulk load.
func TestCachedStatementsSurviveBulkLoad(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	const ref = "component:default/a"
	if _, err := db.EntityGetByRef(ctx, ref); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("before: got %v, want a not-found error", err)
	}
	if began, err := db.BulkBegin(ctx); err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	rec := catalog.Record{Ref: ref, Kind: "Component", Namespace: "default", Name: "a", Body: []byte(`{}`), Hash: "h",
		Relations: []catalog.RelationRow{{Source: ref, Type: "ownedBy", Target: "group:default/t"}}}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec}}); err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{"during", "after"} {
		if stage == "after" {
			if err := db.BulkEnd(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.EntityGetByRef(ctx, ref)
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
		if len(got.Relations) != 1 || got.Relations[0].TargetRef != "group:default/t" {
			t.Errorf("%s: got relations %v, want ownedBy group:default/t", stage, got.Relations)
		}
	}
}

// TestBulkPragmas checks that a bulk load keeps the writer's durability
// settings: the database file holds more than the catalog (the audit log,
// tokens, tasks), and synchronous = OFF would let a power cut during the
// load corrupt it.
func TestBulkPragmas(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	pragmas := func() []string {
		t.Helper()
		var out []string
		for _, p := range []string{"synchronous", "wal_autocheckpoint", "journal_size_limit"} {
			got, err := db.strings(ctx, db.write, "PRAGMA "+p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p+"="+strings.Join(got, ","))
		}
		return out
	}
	outside := []string{"synchronous=1", "wal_autocheckpoint=16384", "journal_size_limit=67108864"}
	if got := pragmas(); !slices.Equal(got, outside) {
		t.Errorf("before: got %v, want %v", got, outside)
	}
	if began, err := db.BulkBegin(ctx); err != nil || !began {
		t.Fatalf("BulkBegin: got %v, %v, want true, nil", began, err)
	}
	if got := pragmas(); !slices.Equal(got, outside) {
		t.Errorf("during: got %v, want %v", got, outside)
	}
	if err := db.BulkEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if got := pragmas(); !slices.Equal(got, outside) {
		t.Errorf("after: got %v, want %v", got, outside)
	}
}
