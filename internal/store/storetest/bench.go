package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// BenchN returns the catalog size benchmarks load: ATRIUM_BENCH_N, or 2000
// so that `go test -bench` stays quick by default.
func BenchN(tb testing.TB) int {
	tb.Helper()
	s := os.Getenv("ATRIUM_BENCH_N")
	if s == "" {
		return 2000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 {
		tb.Fatalf("ATRIUM_BENCH_N=%q: want an integer of at least 100", s)
	}
	return n
}

// Teams is the number of owner groups in a synthetic catalog of n entities.
func Teams(n int) int { return max(10, n/500) }

var (
	synthKinds      = []string{"Component", "Component", "Component", "Component", "Component", "Component", "API", "API", "Resource", "System"}
	synthTypes      = []string{"service", "website", "library", "openapi", "database"}
	synthLifecycles = []string{"production", "experimental", "deprecated"}
	synthTags       = []string{"java", "go", "python", "typescript", "rust", "kotlin", "payments", "search", "infra", "data"}
)

// SyntheticRef returns the ref of record i of a synthetic catalog.
func SyntheticRef(i int) string {
	k := strings.ToLower(synthKinds[i%len(synthKinds)])
	return fmt.Sprintf("%s:default/%s-%07d", k, k, i)
}

// Synthetic returns record i of a synthetic catalog of n entities: about 28
// search rows and 6 relation rows (owner, system, a dependency, each with
// its inverse), shaped like what the catalog produces.
func Synthetic(i, n int) catalog.Record {
	kind := synthKinds[i%len(synthKinds)]
	name := fmt.Sprintf("%s-%07d", strings.ToLower(kind), i)
	ref := SyntheticRef(i)
	owner := fmt.Sprintf("group:default/team-%04d", i%Teams(n))
	system := fmt.Sprintf("system:default/system-%07d", (i/50)*10+9)
	dep := SyntheticRef((i*7919 + 13) % n)
	typ := synthTypes[i%len(synthTypes)]
	life := synthLifecycles[i%len(synthLifecycles)]
	tags := []string{synthTags[i%len(synthTags)], synthTags[(i/10)%len(synthTags)], synthTags[(i/100)%len(synthTags)]}
	uid := fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i*2654435761), i)

	var search []catalog.SearchRow
	add := func(k, v string) {
		search = append(search, catalog.SearchRow{Key: k, Value: strings.ToLower(v), Original: v})
	}
	add("apiversion", "backstage.io/v1alpha1")
	add("kind", kind)
	add("metadata.name", name)
	add("metadata.namespace", "default")
	add("metadata.uid", uid)
	add("metadata.title", "Synthetic "+name)
	add("metadata.description", "A synthetic entity used to measure the store, number "+strconv.Itoa(i))
	for _, t := range tags {
		add("metadata.tags", t)
		add("metadata.tags."+t, "true")
	}
	for j := range 6 {
		add(fmt.Sprintf("metadata.annotations.example.com/key-%d", j), fmt.Sprintf("value-%d-%d", j, i%97))
	}
	add("metadata.labels.tier", strconv.Itoa(i%4))
	add("metadata.labels.region", []string{"eu", "us", "ap"}[i%3])
	add("spec.type", typ)
	add("spec.lifecycle", life)
	add("spec.owner", owner)
	add("spec.system", system)
	add("spec.dependson", dep)

	rels := []catalog.RelationRow{
		{Source: ref, Type: "ownedBy", Target: owner}, {Source: owner, Type: "ownerOf", Target: ref},
		{Source: ref, Type: "partOf", Target: system}, {Source: system, Type: "hasPart", Target: ref},
		{Source: ref, Type: "dependsOn", Target: dep}, {Source: dep, Type: "dependencyOf", Target: ref},
	}
	body := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":%q,"metadata":{"name":%q,"namespace":"default","uid":%q,`+
		`"title":"Synthetic %s","tags":[%q,%q,%q]},"spec":{"type":%q,"lifecycle":%q,"owner":%q,"system":%q,"dependsOn":[%q]}}`,
		kind, name, uid, name, tags[0], tags[1], tags[2], typ, life, owner, system, dep)
	return catalog.Record{
		UID: uid, Ref: ref, Kind: kind, Namespace: "default", Name: name,
		Body: []byte(body), Hash: "h" + strconv.Itoa(i), LocationKey: "url:synthetic",
		Relations: rels, Search: search,
		Text: strings.Join([]string{kind, name, "Synthetic " + name, typ, life, strings.Join(tags, " ")}, " "),
	}
}

// Load writes records [from, to) of a synthetic catalog of n entities in
// batches of batch.
func Load(ctx context.Context, d store.Driver, from, to, n, batch int) error {
	recs := make([]catalog.Record, 0, batch)
	for i := from; i < to; i++ {
		recs = append(recs, Synthetic(i, n))
		if len(recs) == batch || i == to-1 {
			if _, err := d.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
				return err
			}
			recs = recs[:0]
		}
	}
	return nil
}

// LoadTimed loads a synthetic catalog of n entities and logs how long it
// took.
func LoadTimed(tb testing.TB, d store.Driver, n int) {
	tb.Helper()
	start := time.Now()
	if err := Load(context.Background(), d, 0, n, n, 1000); err != nil {
		tb.Fatalf("load %d entities: %v", n, err)
	}
	el := time.Since(start)
	tb.Logf("%s: loaded %d entities in %v (%.0f entities/s)", d.Engine(), n, el.Round(time.Millisecond), float64(n)/el.Seconds())
}

// BenchUpsert measures writing batches of 1000 new entities into d. Besides
// wall time it reports the process's CPU time per entity (cpu-µs/entity),
// which, on a shared machine, varies far less with other work; for a
// server-side database (PostgreSQL) that figure covers the client only.
func BenchUpsert(b *testing.B, d store.Driver) {
	ctx := context.Background()
	const batch = 1000
	const universe = 10_000_000
	b.ResetTimer()
	cpu0 := CPUTime(b)
	next := 0
	for b.Loop() {
		if err := Load(ctx, d, next, next+batch, universe, batch); err != nil {
			b.Fatal(err)
		}
		next += batch
	}
	b.ReportMetric(float64(next)/b.Elapsed().Seconds(), "entities/s")
	b.ReportMetric(float64((CPUTime(b)-cpu0).Microseconds())/float64(next), "cpu-µs/entity")
}

// BenchBulkLoad measures loading BenchN synthetic entities into an empty
// catalog in batches of 1000, row by row ("rows") or as a bulk load with
// the secondary indexes built at the end ("bulk"). open returns a fresh,
// migrated driver. cpu-µs/entity is this process's CPU time (for SQLite,
// all of the work; for PostgreSQL, the client's share only).
func BenchBulkLoad(b *testing.B, open func(b *testing.B) store.Driver) {
	n := BenchN(b)
	for _, bulk := range []bool{false, true} {
		name := "rows"
		if bulk {
			name = "bulk"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				d := open(b)
				b.StartTimer()
				cpu0 := CPUTime(b)
				if bulk {
					if began, err := d.BulkBegin(ctx); err != nil || !began {
						b.Fatalf("BulkBegin: %v, %v", began, err)
					}
				}
				if err := Load(ctx, d, 0, n, n, 1000); err != nil {
					b.Fatal(err)
				}
				if err := d.BulkEnd(ctx); err != nil {
					b.Fatal(err)
				}
				cpu += CPUTime(b) - cpu0
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entities/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/entity")
		})
	}
}

// CPUTime returns the user and system CPU time this process has used.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchGetByRef measures by-ref reads in a loaded catalog of n entities.
func BenchGetByRef(b *testing.B, d store.Driver, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	cpu0 := CPUTime(b)
	for b.Loop() {
		if _, err := d.EntityGetByRef(ctx, SyntheticRef(rng.IntN(n))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((CPUTime(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchListFiltered measures the queries the catalog page and API issue
// most, in a loaded catalog of n entities.
func BenchListFiltered(b *testing.B, d store.Driver, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	owner := func() string { return fmt.Sprintf("group:default/team-%04d", rng.IntN(Teams(n))) }
	cases := []struct {
		name string
		run  func() error
	}{
		{"kind+owner/limit100", func() error {
			_, err := d.EntityList(ctx, store.EntityListParams{Limit: 100,
				Filter: catalog.All(catalog.In("kind", "component"), catalog.In("relations.ownedby", owner()))})
			return err
		}},
		{"kind+owner/limit100/order=name", func() error {
			_, err := d.EntityList(ctx, store.EntityListParams{Limit: 100, Order: &store.Order{Field: "metadata.name"},
				Filter: catalog.All(catalog.In("kind", "component"), catalog.In("spec.owner", owner()))})
			return err
		}},
		{"kind/limit100/order=name", func() error {
			_, err := d.EntityList(ctx, store.EntityListParams{Limit: 100, Order: &store.Order{Field: "metadata.name"},
				Filter: catalog.In("kind", "component")})
			return err
		}},
		{"kind/limit20/total", func() error {
			_, err := d.EntityList(ctx, store.EntityListParams{Limit: 20, CountTotal: true, Filter: catalog.In("kind", "api")})
			return err
		}},
		{"facets/kind,spec.type,metadata.tags", func() error {
			_, err := d.EntityFacets(ctx, store.EntityFacetsParams{Facets: []string{"kind", "spec.type", "metadata.tags"}})
			return err
		}},
		{"search", func() error {
			_, err := d.EntitySearch(ctx, store.EntitySearchParams{Query: "synthetic compon", Limit: 20})
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
