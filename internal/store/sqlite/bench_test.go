package sqlite

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// loaded is one catalog of storetest.BenchN entities shared by the read
// benchmarks of this process; TestMain removes it.
var loaded struct {
	once sync.Once
	dir  string
	db   *DB
	n    int
}

func TestMain(m *testing.M) {
	code := m.Run()
	if loaded.db != nil {
		loaded.db.Close()
		os.RemoveAll(loaded.dir)
	}
	os.Exit(code)
}

func loadedDB(b *testing.B) (*DB, int) {
	b.Helper()
	loaded.once.Do(func() {
		dir, err := os.MkdirTemp("", "atrium-bench-")
		if err != nil {
			b.Fatal(err)
		}
		loaded.dir = dir
		db, err := Open(b.Context(), Config{Path: filepath.Join(dir, "bench.db")})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		loaded.n = storetest.BenchN(b)
		storetest.LoadTimed(b, db, loaded.n)
		loaded.db = db
	})
	if loaded.db == nil {
		b.Fatal("loading the benchmark catalog failed earlier")
	}
	return loaded.db, loaded.n
}

func BenchmarkEntityUpsert(b *testing.B) {
	db := openMigrated(b)
	storetest.BenchUpsert(b, db)
}

func BenchmarkBulkLoad(b *testing.B) {
	storetest.BenchBulkLoad(b, func(b *testing.B) store.Driver {
		db := openMigrated(b)
		return db
	})
}

func BenchmarkEntityGetByRef(b *testing.B) {
	db, n := loadedDB(b)
	storetest.BenchGetByRef(b, db, n)
}

func BenchmarkEntityListFiltered(b *testing.B) {
	db, n := loadedDB(b)
	storetest.BenchListFiltered(b, db, n)
}
