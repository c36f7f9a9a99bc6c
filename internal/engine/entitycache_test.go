package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/pgtest"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// componentDoc is a component named name with description desc.
func componentDoc(t testing.TB, name, desc string) Deferred {
	t.Helper()
	doc := catalog.Document{}
	js := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"` + name + `","description":"` + desc +
		`","annotations":{"backstage.io/managed-by-location":"test:a","backstage.io/managed-by-origin-location":"test:a"}},"spec":{"type":"service","lifecycle":"production","owner":"team"}}`
	if err := json.Unmarshal([]byte(js), &doc.Raw); err != nil {
		t.Fatal(err)
	}
	return Deferred{Document: doc, LocationKey: "test:a"}
}

// TestEntityCacheSeesOtherReplicasWrites: two engines on one database, as
// two replicas. A write through one is served by the other from its cache
// until its next read of the change log, which at most maxAge after the
// last one finds it: a read after maxAge always sees the write.
func TestEntityCacheSeesOtherReplicasWrites(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var d1, d2 store.Driver
			if engine == "sqlite" {
				path := filepath.Join(t.TempDir(), "catalog.db")
				d1, d2 = testdb.SQLiteAt(t, path), testdb.SQLiteAt(t, path)
			} else {
				dsn := pgtest.DSN(t)
				d1, d2 = testdb.PostgresAt(t, dsn), testdb.PostgresAt(t, dsn)
			}
			now := time.Unix(1000, 0)
			var clock atomic.Pointer[time.Time]
			clock.Store(&now)
			tick := func() time.Time { return *clock.Load() }
			spy := &getSpy{Driver: d1}
			reader := newEngine(t, Config{Store: spy, Now: tick, ReadCacheMaxAge: 5 * time.Second})
			writer := newEngine(t, Config{Store: d2, Now: tick, ReadCacheMaxAge: 5 * time.Second})
			write := func(desc string) {
				t.Helper()
				conn := &connection{e: writer, name: "test"}
				if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: []Deferred{componentDoc(t, "a", desc)}}); err != nil {
					t.Fatal(err)
				}
			}
			desc := func() string {
				t.Helper()
				raw, err := reader.EntityRawByRef(ctx, "component:default/a")
				if err != nil {
					t.Fatal(err)
				}
				ent, err := raw.Entity()
				if err != nil {
					t.Fatal(err)
				}
				return ent.Metadata.Description
			}
			write("one")
			if got := desc(); got != "one" {
				t.Fatalf("first read: %q", got)
			}
			if got := desc(); got != "one" || spy.gets != 1 {
				t.Fatalf("second read: %q after %d store reads, want one from the cache", got, spy.gets)
			}
			write("two")
			// Within maxAge of the last check the cache may still answer.
			if got := desc(); got != "one" || spy.gets != 1 {
				t.Fatalf("within max age: %q after %d store reads, want the cached one", got, spy.gets)
			}
			later := now.Add(5 * time.Second)
			clock.Store(&later)
			if got := desc(); got != "two" {
				t.Fatalf("after max age: %q, want the other replica's write", got)
			}
			if got := desc(); got != "two" || spy.gets != 2 {
				t.Fatalf("cached again: %q after %d store reads, want 2", got, spy.gets)
			}
			// A relation the other replica adds, by writing only its
			// originating entity, is seen too.
			conn := &connection{e: writer, name: "test"}
			b := componentDoc(t, "b", "bee")
			b.Document.Raw["spec"].(map[string]any)["dependsOn"] = []any{"component:a"}
			if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: []Deferred{componentDoc(t, "a", "two"), b}}); err != nil {
				t.Fatal(err)
			}
			latest := later.Add(5 * time.Second)
			clock.Store(&latest)
			ent, err := reader.EntityByRef(ctx, "component:default/a")
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range ent.Relations {
				found = found || r.Type == "dependencyOf" && r.TargetRef == "component:default/b"
			}
			if !found {
				t.Fatalf("after max age: relations %+v, want dependencyOf component:default/b", ent.Relations)
			}
		})
	}
}

// TestEntityCacheRoundTrip: every entity comes out of the cache, by ref
// and by uid, byte for byte as it went in, before the compression
// dictionary exists and after.
func TestEntityCacheRoundTrip(t *testing.T) {
	e, c, raws := filledEntityCache(t, 600)
	if c.dict == nil {
		t.Fatal("no dictionary after 600 entities")
	}
	compressed := 0
	for _, s := range c.slots {
		if s.compressed {
			compressed++
			if s.dataLen*2 > s.rawLen {
				t.Errorf("an entry of %d bytes compressed to %d", s.rawLen, s.dataLen)
			}
		}
	}
	if compressed < len(raws)/2 {
		t.Fatalf("%d of %d entries compressed", compressed, len(raws))
	}
	for _, raw := range raws {
		for _, byUID := range []bool{false, true} {
			key := raw.Ref
			if byUID {
				key = raw.UID
			}
			got := c.get(byUID, key, 1)
			if got == nil || got.Ref != raw.Ref || got.UID != raw.UID || !bytes.Equal(got.JSON, raw.JSON) {
				t.Fatalf("%s (by uid %v): got %+v", raw.Ref, byUID, got)
			}
		}
	}
	// The caller owns what a hit returns.
	a := c.get(false, raws[599].Ref, 1)
	a.JSON[0] = 'X'
	if b := c.get(false, raws[599].Ref, 1); !bytes.Equal(b.JSON, raws[599].JSON) {
		t.Fatal("changing a hit's JSON changed the cache")
	}
	// The warmer's dictionary replaces the first one and the entries.
	e.ents = c
	if d := e.warmDict(context.Background(), e.cs.gen.Load()); d == nil {
		t.Fatal("no dictionary from the catalog")
	} else {
		c.setDict(d)
	}
	for _, raw := range raws {
		c.put(raw, 1)
	}
	for _, raw := range raws {
		if got := c.get(true, raw.UID, 1); got == nil || !bytes.Equal(got.JSON, raw.JSON) {
			t.Fatalf("%s after the warmer's dictionary: got %+v", raw.Ref, got)
		}
	}
}

// TestEntityCacheReleasable: hits served into recycled buffers (by-name's
// answers) hold exactly the entry's JSON, whatever the buffer held before,
// with the newline after it in Line, for compressed and uncompressed
// entries alike; a released Raw is cleared, and others ignore Release.
func TestEntityCacheReleasable(t *testing.T) {
	_, c, raws := filledEntityCache(t, 300) // the first ones before the dictionary: uncompressed
	// The largest entry first, so that later ones reuse a longer buffer.
	slices.SortFunc(raws, func(a, b *Raw) int { return len(b.JSON) - len(a.JSON) })
	for range 3 {
		for _, raw := range raws {
			for _, byUID := range []bool{false, true} {
				key := raw.Ref
				if byUID {
					key = raw.UID
				}
				got := c.getReleasable(byUID, key, 1)
				if got == nil || got.Ref != raw.Ref || got.UID != raw.UID || !bytes.Equal(got.JSON, raw.JSON) {
					t.Fatalf("%s (by uid %v): got %+v", raw.Ref, byUID, got)
				}
				if line := got.Line(); string(line) != string(raw.JSON)+"\n" {
					t.Fatalf("%s: got line %q, want the JSON and a newline", raw.Ref, line)
				}
				got.Release()
				if got.JSON != nil || got.Ref != "" || got.UID != "" {
					t.Fatalf("%s: released Raw still holds %+v", raw.Ref, got)
				}
			}
		}
	}
	// A Raw not from the pool: Line has nothing, Release leaves it be.
	own := c.get(false, raws[0].Ref, 1)
	if own.Line() != nil {
		t.Fatal("Line of an owned hit: want nil")
	}
	own.Release()
	if !bytes.Equal(own.JSON, raws[0].JSON) {
		t.Fatal("Release changed a Raw that is not recycled")
	}
	var none *Raw
	none.Release()
}

// TestEntityCacheWarmer: once the catalog is quiet the warmer fills the
// cache with every entity, and lookups then reach the store no more.
func TestEntityCacheWarmer(t *testing.T) {
	ctx := context.Background()
	spy := &getSpy{Driver: openStore(t)}
	e := newEngine(t, Config{Store: spy, EntityCacheWarmAfter: 20 * time.Millisecond})
	ingestBench(t, e, 500)
	deadline := time.Now().Add(time.Minute)
	for {
		if n, _ := e.ents.stats(); n == 500 {
			break
		}
		if time.Now().After(deadline) {
			n, _ := e.ents.stats()
			t.Fatalf("the warmer cached %d of 500 entities", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 48 {
		name := fmt.Sprintf("component:default/service-%d", 10*i+15)
		if _, err := e.EntityRawByRef(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if spy.gets != 0 {
		t.Fatalf("%d lookups reached the store after warming, want none", spy.gets)
	}
}

// TestEntityCacheWarmerBudgetAndWrites: the warmer stops at the budget,
// and at once when a write starts a new generation.
func TestEntityCacheWarmerBudgetAndWrites(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, Config{EntityCacheBytes: 64 << 10})
	ingestBench(t, e, 1000)
	if _, ok := e.warm(ctx); !ok {
		t.Fatal("the warmer did not finish")
	}
	n, b := e.ents.stats()
	if b > 64<<10 || n == 0 || n >= 1000 {
		t.Fatalf("after warming: %d entries, %d bytes; want some, within 64 KiB", n, b)
	}

	bump := &bumpSpy{}
	e2 := newEngine(t, Config{Store: bump})
	bump.Driver, bump.e = e.cs.Driver, e2
	if _, ok := e2.warm(ctx); ok {
		t.Fatal("the warmer finished through a write")
	}
	if n, _ := e2.ents.stats(); n > warmBatch {
		t.Fatalf("%d entries after a write during the first batch, want at most one batch", n)
	}
	if bump.reads != 1 {
		t.Fatalf("%d batches read after the write, want the one in progress", bump.reads)
	}
}

// bumpSpy starts a new generation of e when the warmer reads its first
// batch, as a write through e would.
type bumpSpy struct {
	store.Driver
	e     *Engine
	reads int
}

func (s *bumpSpy) EntityGetByRefs(ctx context.Context, refs []string, f *catalog.Filter) ([]*catalog.Stored, error) {
	if len(refs) > 20 { // a batch, not the dictionary's sample
		if s.reads++; s.reads == 1 {
			s.e.cs.invalidate()
		}
	}
	return s.Driver.EntityGetByRefs(ctx, refs, f)
}

// BenchmarkEntityRawByRefCached: a lookup by ref served from the entity
// cache (the CPU a by-name request spends in the engine on a hit).
func BenchmarkEntityRawByRefCached(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, Config{})
	ingestBench(b, e, 2000)
	refs := make([]string, 0, 2000)
	for i := 50; i < 2000; i++ {
		if i%10 >= 4 {
			refs = append(refs, fmt.Sprintf("component:default/service-%d", i))
		}
	}
	for _, ref := range refs {
		if _, err := e.EntityRawByRef(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		raw, err := e.EntityRawByRef(ctx, refs[i%len(refs)])
		if err != nil || len(raw.JSON) == 0 {
			b.Fatal(err)
		}
		i++
	}
}

// TestEntityCacheWarmerYieldsToPasses: the warmer does not read while a
// processing pass runs (it would be interrupted by the pass's writes, and
// competes with it for the CPU); it fills the cache once the pass ends.
func TestEntityCacheWarmerYieldsToPasses(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, Config{})
	ingestBench(t, e, 300)
	e.mu.Lock()
	_, ok := e.warm(ctx)
	n, _ := e.ents.stats()
	e.mu.Unlock()
	if ok || n != 0 {
		t.Fatalf("during a pass: finished %v with %d entries, want it stopped before reading", ok, n)
	}
	if _, ok := e.warm(ctx); !ok {
		t.Fatal("after the pass: the warmer did not finish")
	}
	if n, _ := e.ents.stats(); n != 300 {
		t.Fatalf("after the pass: %d entries, want 300", n)
	}
}

// TestWarmBudget: the warmer runs freely up to warmCredit, then for a
// warmShare-th of the time, so that a catalog written often is not read
// again in full after every write.
func TestWarmBudget(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	b := newWarmBudget(t0)
	if !b.allows(t0) {
		t.Fatal("a new budget refuses the first warm")
	}
	b.spend(warmCredit - time.Second)
	if !b.allows(t0.Add(time.Second)) {
		t.Fatal("refused with credit left")
	}
	b.spend(20 * time.Second) // a warm of 20 s past the credit
	for _, c := range []struct {
		after time.Duration
		want  bool
	}{
		{time.Minute, false},
		{(20*time.Second - time.Second) * warmShare, false},
		{(20*time.Second + time.Second) * warmShare, true},
	} {
		if got := b.allows(t0.Add(c.after)); got != c.want {
			t.Errorf("%v after the start, %v spent: allows %v, want %v", c.after, time.Duration(b.spent.Load()), got, c.want)
		}
	}
}

// TestWarmerWaitsForFirstLoad: an engine that processes locations is
// loading until its first load ends (the warmer waits for it); one that
// does not process (an API-only replica) never is.
func TestWarmerWaitsForFirstLoad(t *testing.T) {
	e := newEngine(t, Config{})
	if e.loading() {
		t.Fatal("an engine that does not run is loading")
	}
	e.provMu.Lock()
	e.running = true
	e.provMu.Unlock()
	select {
	case <-e.ready:
		t.Skip("the engine's first load has ended already")
	default:
	}
	if !e.loading() {
		t.Fatal("a running engine before its first load's end is not loading")
	}
	e.MarkReady()
	if e.loading() {
		t.Fatal("loading after the first load's end")
	}
}

// filledEntityCache ingests n generated entities into a new engine and
// puts each one's stitched JSON, in list order, into a new 64 MiB entity
// cache at generation 1; it returns the engine, the cache and what went in.
func filledEntityCache(t *testing.T, n int) (*Engine, *entityCache, []*Raw) {
	t.Helper()
	e := newEngine(t, Config{})
	ingestBench(t, e, n)
	res, err := e.store.EntityList(context.Background(), store.EntityListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	c := newEntityCache(64 << 20)
	var raws []*Raw
	for _, s := range res.Items {
		b, err := StitchJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		raw := &Raw{Ref: s.Ref, UID: s.UID, JSON: b}
		raws = append(raws, raw)
		c.put(raw, 1)
	}
	return e, c, raws
}
