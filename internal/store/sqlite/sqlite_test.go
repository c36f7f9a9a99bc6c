package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// openTest opens a database in a fresh temporary file, closed at cleanup.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "atrium.db"), MaxReadConns: 2})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// openMigrated is openTest with Atrium's tables created.
func openMigrated(t testing.TB) *DB {
	t.Helper()
	db := openTest(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Driver { return openTest(t) })
}
