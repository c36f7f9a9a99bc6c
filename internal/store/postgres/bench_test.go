package postgres

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	db := openTest(b)
	if err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	storetest.BenchUpsert(b, db)
}

func BenchmarkBulkLoad(b *testing.B) {
	storetest.BenchBulkLoad(b, func(b *testing.B) store.Driver {
		db := openTest(b)
		if err := db.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
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

// BenchmarkEntityGetByRefServer is BenchmarkEntityGetByRef that also
// reports the database server's CPU per lookup (pg-cpu-ns/op): that of
// every backend connected to the catalog's database, from
// /proc/<pid>/schedstat, so it needs the server on this machine. Lookups
// are one goroutine's: each runs alone (coalescer.alone).
func BenchmarkEntityGetByRefServer(b *testing.B) {
	db, n := loadedDB(b)
	ctx := b.Context()
	refs := make([]string, 4096)
	for i := range refs {
		refs[i] = storetest.SyntheticRef((i * 7919) % n)
	}
	// Open the lookup connection before counting.
	if _, err := db.EntityGetByRef(ctx, refs[0]); err != nil {
		b.Fatal(err)
	}
	backendCPU := func() time.Duration {
		rows, err := db.pool.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
		if err != nil {
			b.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			b.Fatal(err)
		}
		var sum time.Duration
		for _, pid := range pids {
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
			if err != nil {
				b.Skipf("the database server's backends are not readable here: %v", err)
			}
			var ns int64
			if _, err := fmt.Sscan(string(raw), &ns); err != nil {
				b.Fatal(err)
			}
			sum += time.Duration(ns)
		}
		return sum
	}
	pg0, cpu0 := backendCPU(), storetest.CPUTime(b)
	i := 0
	for b.Loop() {
		if _, err := db.EntityGetByRef(ctx, refs[i%len(refs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	cpu, pg := storetest.CPUTime(b)-cpu0, backendCPU()-pg0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(pg.Nanoseconds())/float64(b.N), "pg-cpu-ns/op")
}
