package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
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
	db := openTest(t)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
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
