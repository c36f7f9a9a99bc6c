package postgres

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// loaded is one catalog of storetest.BenchN entities shared by the read
// benchmarks of this process, in its own schema dropped at the end.
var loaded struct {
	once sync.Once
	db   *DB
	drop func() error
	n    int
}

func TestMain(m *testing.M) {
	code := m.Run()
	if loaded.drop != nil {
		if err := loaded.drop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

func loadedDB(b *testing.B) (*DB, int) {
	b.Helper()
	loaded.once.Do(func() {
		db, drop, err := openSchema(b.Context(), testURL(b))
		if err != nil {
			b.Fatal(err)
		}
		loaded.drop = drop
		if err := db.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		loaded.n = storetest.BenchN(b)
		storetest.LoadTimed(b, db, loaded.n)
		if _, err := db.pool.Exec(b.Context(), "ANALYZE"); err != nil {
			b.Fatal(err)
		}
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
