package authz

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/postgres"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// BenchmarkByQuery measures what authorization adds to a by-query page
// (kind=component, ordered by name, 20 items, with the total count) over a
// synthetic catalog of ATRIUM_BENCH_ENTITIES entities (default 100000), on
// SQLite and, when ATRIUM_TEST_POSTGRES is set, on PostgreSQL. The SQLite
// database is kept under ATRIUM_BENCH_DIR when set, and the PostgreSQL one
// as database atrium_authz_bench_N on that server, so that later runs skip
// loading them. Besides wall time it reports the process's CPU time
// (cpu-ms/op), which varies less on a shared machine, and on PostgreSQL
// the server's (server-cpu-ms/op) when its processes are readable. The
// steady-state case reports its first page (first-ms) apart: it counts the
// total and reads the cached id sets, once per process.
func BenchmarkByQuery(b *testing.B) {
	n := 100_000
	if s := os.Getenv("ATRIUM_BENCH_ENTITIES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	b.Run("sqlite", func(b *testing.B) {
		ctx := context.Background()
		dir := os.Getenv("ATRIUM_BENCH_DIR")
		if dir == "" {
			dir = b.TempDir()
		}
		path := filepath.Join(dir, "authz-bench-"+strconv.Itoa(n)+".db")
		_, statErr := os.Stat(path)
		db, err := sqlite.Open(ctx, sqlite.Config{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			b.Fatal(err)
		}
		if statErr != nil {
			storetest.LoadTimed(b, db, n)
		}
		benchByQuery(b, db, n, nil)
	})
	b.Run("postgres", func(b *testing.B) {
		admin := os.Getenv("ATRIUM_TEST_POSTGRES")
		if admin == "" {
			b.Skip("ATRIUM_TEST_POSTGRES is not set")
		}
		db := openBenchPostgres(b, admin, n)
		defer db.Close()
		srv := newServerCPU(b, admin, "atrium_authz_bench_"+strconv.Itoa(n))
		defer srv.close()
		benchByQuery(b, db, n, srv)
	})
}

// openBenchPostgres opens database atrium_authz_bench_N on the server of
// admin, creating and loading it on first use.
func openBenchPostgres(b *testing.B, admin string, n int) store.Driver {
	ctx := context.Background()
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	name := "atrium_authz_bench_" + strconv.Itoa(n)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close(ctx)
	u.Path = "/" + name
	db, err := postgres.Open(ctx, postgres.Config{URL: u.String()})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	res, err := db.EntityList(ctx, store.EntityListParams{Limit: 1, CountTotal: true})
	if err != nil {
		b.Fatal(err)
	}
	if res.Total < n {
		if res.Total > 0 {
			b.Fatalf("database %s holds %d of %d entities: drop it and run again", name, res.Total, n)
		}
		storetest.LoadTimed(b, db, n)
		// Planner statistics and the visibility map, as autovacuum keeps
		// them on a live database (the test server runs without it):
		// without statistics PostgreSQL guesses 43 rows for a tag held by
		// 27 100 entities and plans a page at 400 ms instead of 0.3 ms;
		// without the visibility map no index-only scan is possible.
		conn, err := pgx.Connect(ctx, u.String())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// serverCPU reads the CPU time that the PostgreSQL backends serving one
// database have used, from /proc/<pid>/schedstat (nanoseconds on a CPU):
// on a shared machine the server's CPU per page varies far less than the
// page's wall time. It is nil (and measures nothing) when the server's
// processes are not readable, as when it runs on another host.
type serverCPU struct {
	conn *pgx.Conn // to the admin database: its own backend is not counted
	db   string
}

func newServerCPU(b *testing.B, admin, db string) *serverCPU {
	conn, err := pgx.Connect(context.Background(), admin)
	if err != nil {
		b.Fatal(err)
	}
	s := &serverCPU{conn: conn, db: db}
	if _, ok := s.read(b); !ok {
		conn.Close(context.Background())
		return nil
	}
	return s
}

// read returns the summed CPU time of the database's backends.
func (s *serverCPU) read(b *testing.B) (time.Duration, bool) {
	if s == nil {
		return 0, false
	}
	rows, err := s.conn.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = $1", s.db)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var sum time.Duration
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/schedstat")
		if err != nil {
			return 0, false
		}
		f := strings.Fields(string(data))
		if len(f) == 0 {
			return 0, false
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
}

// report reports the server's CPU time per operation since from, when it
// can be read.
func (s *serverCPU) report(b *testing.B, from time.Duration) {
	if to, ok := s.read(b); ok {
		b.ReportMetric(float64((to-from).Microseconds())/1000/float64(b.N), "server-cpu-ms/op")
	}
}

func (s *serverCPU) close() {
	if s != nil {
		s.conn.Close(context.Background())
	}
}

func benchByQuery(b *testing.B, db store.Driver, n int, srv *serverCPU) {
	ctx := context.Background()
	// The entity cache's warmer is off: it would read the whole catalog
	// in this process and add its CPU to the pages measured.
	eng, err := engine.New(engine.Config{Store: db, ProcessingInterval: -1, EntityCacheWarmAfter: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()

	jane := &auth.Principal{Type: auth.PrincipalUser, Ref: "user:default/jane",
		OwnershipRefs: []string{"user:default/jane", "group:default/team-0001"}}
	cases := []struct {
		name   string
		policy string // "" : no authorization at all; "default": the default policy
	}{
		{"no authorization", ""},
		{"default policy (allow)", "default"},
		{"deny rule on a tag", "rules:\n  - name: all\n    effect: allow\n    permissions: ['*']\n  - name: hide\n    effect: deny\n    permissions: [catalog.entity.read]\n    condition: '\"payments\" in resource.tags && !(\"group:default/security\" in principal.ownershipRefs)'\n"},
		{"owners only", "rules:\n  - name: own\n    effect: allow\n    permissions: [catalog.entity.read]\n    condition: resource.owner in principal.ownershipRefs || resource.spec.lifecycle == \"production\"\n"},
	}
	q := engine.Query{
		Filter:     catalog.In("kind", "component"),
		Order:      &store.Order{Field: "metadata.name"},
		Limit:      20,
		CountTotal: true,
	}
	for _, c := range cases {
		var cat engine.Catalog = eng
		storeFilter := q.Filter
		if c.policy != "" {
			p := Params{}
			if c.policy != "default" {
				f := filepath.Join(b.TempDir(), "policy.yaml")
				if err := os.WriteFile(f, []byte(c.policy), 0o600); err != nil {
					b.Fatal(err)
				}
				p.Files = []string{f}
			}
			a, err := New(p)
			if err != nil {
				b.Fatal(err)
			}
			cat = Catalog(eng, a)
			rf, _, err := a.Filter(ctx, jane, PermEntityRead)
			if err != nil {
				b.Fatal(err)
			}
			if rf != nil {
				storeFilter = catalog.All(q.Filter, rf)
			}
		}
		pctx := auth.WithPrincipal(ctx, jane)
		b.Run(c.name, func(b *testing.B) {
			// The first page of a filter counts its total, which the
			// engine then holds, and with a policy reads the id sets of
			// its conditions into the store's cache (100 ms at 100k
			// entities on PostgreSQL, once per process): reported on its
			// own, not spread over the pages measured.
			start := time.Now()
			if _, err := cat.Entities(pctx, q); err != nil {
				b.Fatal(err)
			}
			first := time.Since(start)
			srv0, _ := srv.read(b)
			cpu0 := storetest.CPUTime(b)
			for b.Loop() {
				page, err := cat.Entities(pctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) == 0 {
					b.Fatal("empty page")
				}
			}
			b.ReportMetric(float64((storetest.CPUTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			srv.report(b, srv0)
			b.ReportMetric(float64(first.Microseconds())/1000, "first-ms")
		})
		// The same page straight from the store: the total is counted on
		// every call (the engine caches totals per filter until the next
		// write); with nothing written meanwhile the store's cached leaf
		// id sets are current.
		b.Run(c.name+"/store", func(b *testing.B) {
			srv0, _ := srv.read(b)
			cpu0 := storetest.CPUTime(b)
			for b.Loop() {
				res, err := db.EntityList(ctx, store.EntityListParams{Filter: storeFilter, Order: q.Order, Limit: q.Limit, CountTotal: true})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Items) == 0 || res.Total == 0 {
					b.Fatal("empty page")
				}
			}
			b.ReportMetric(float64((storetest.CPUTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			srv.report(b, srv0)
		})
		// The first view after a write: one component is written before
		// each page (not timed), alternately tagged payments and not, so
		// that the total changes and the store's cached id sets have to
		// follow it.
		b.Run(c.name+"/after a write", func(b *testing.B) {
			var cpu, server time.Duration
			i := 0
			for b.Loop() {
				b.StopTimer()
				rec := storetest.Synthetic(10*(i%1000), n) // a component
				rec.Hash = "bench-" + strconv.Itoa(i)
				if i%2 == 0 {
					rec = retag(rec, "metadata.tags", "payments")
				}
				if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec}}); err != nil {
					b.Fatal(err)
				}
				i++
				srv0, _ := srv.read(b)
				b.StartTimer()
				cpu0 := storetest.CPUTime(b)
				res, err := db.EntityList(ctx, store.EntityListParams{Filter: storeFilter, Order: q.Order, Limit: q.Limit, CountTotal: true})
				cpu += storetest.CPUTime(b) - cpu0
				b.StopTimer()
				if srv1, ok := srv.read(b); ok {
					server += srv1 - srv0
				}
				b.StartTimer()
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Items) == 0 || res.Total == 0 {
					b.Fatal("empty page")
				}
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			if srv != nil {
				b.ReportMetric(float64(server.Microseconds())/1000/float64(b.N), "server-cpu-ms/op")
			}
		})
	}
}
