package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// ingestBench loads n generated entities through a provider.
func ingestBench(t testing.TB, e *Engine, n int) {
	t.Helper()
	conn := &connection{e: e, name: "bench"}
	if err := conn.ApplyMutation(context.Background(), Mutation{Type: MutationFull, Entities: benchEntities(n)}); err != nil {
		t.Fatal(err)
	}
}

func TestStitchJSONMatchesStitch(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, Config{})
	ingestBench(t, e, 300)
	res, err := e.store.EntityList(ctx, store.EntityListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 300 {
		t.Fatalf("got %d entities, want 300", len(res.Items))
	}
	withStatus := *res.Items[7]
	withStatus.Errors = []catalog.StatusItem{{Type: "backstage.io/catalog-processing", Level: "error", Message: "spec.owner: <required>"}}
	noRelations := *res.Items[8]
	noRelations.Relations = nil
	foreign := *res.Items[9]
	foreign.Body = []byte(`{"kind":"Component","apiVersion":"v1","metadata":{"name":"x"}}`)
	items := append(res.Items, &withStatus, &noRelations, &foreign)
	spliced := 0
	for _, s := range items {
		want, err := Stitch(s)
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := json.Marshal(want)
		got, err := StitchJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wb) {
			t.Fatalf("%s:\ngot  %s\nwant %s", s.Ref, got, wb)
		}
		if _, ok := spliceStitch(s); ok {
			spliced++
		}
	}
	if spliced != len(items)-1 {
		t.Fatalf("spliced %d of %d, want all but the foreign body", spliced, len(items))
	}
}

func TestEntityCache(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	spy := &getSpy{Driver: openStore(t)}
	e := newEngine(t, Config{Store: spy, Now: func() time.Time { return now }, ReadCacheMaxAge: time.Minute})
	write := func(yaml string) {
		t.Helper()
		doc := catalog.Document{}
		if err := json.Unmarshal([]byte(yaml), &doc.Raw); err != nil {
			t.Fatal(err)
		}
		conn := &connection{e: e, name: "test"}
		if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: []Deferred{{Document: doc, LocationKey: "test:a"}}}); err != nil {
			t.Fatal(err)
		}
	}
	comp := func(desc string) string {
		return `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","description":"` + desc +
			`","annotations":{"backstage.io/managed-by-location":"test:a","backstage.io/managed-by-origin-location":"test:a"}},"spec":{"type":"service","lifecycle":"production","owner":"team"}}`
	}
	write(comp("one"))
	desc := func() string {
		t.Helper()
		raw, err := e.EntityRawByRef(ctx, "Component:default/A")
		if err != nil {
			t.Fatal(err)
		}
		ent, err := raw.Entity()
		if err != nil {
			t.Fatal(err)
		}
		return ent.Metadata.Description
	}
	steps := []struct {
		name     string
		do       func()
		wantDesc string
		wantGets int
	}{
		{"first read reaches the store", func() {}, "one", 1},
		{"second read is cached", func() {}, "one", 1},
		{"by uid is cached too", func() {
			raw, _ := e.EntityRawByRef(ctx, "component:default/a")
			if _, err := e.EntityRawByUID(ctx, raw.UID); err != nil {
				t.Fatal(err)
			}
		}, "one", 1},
		{"a write is seen at once", func() { write(comp("two")) }, "two", 2},
		// The log's check after max age cannot tell this engine's write
		// from another replica's: it starts a generation again.
		{"the next check finds the write in the log", func() { now = now.Add(time.Minute) }, "two", 3},
		{"cached again", func() {}, "two", 3},
		{"still cached after max age: the log says nothing changed", func() { now = now.Add(time.Minute) }, "two", 3},
	}
	for _, s := range steps {
		s.do()
		if got := desc(); got != s.wantDesc {
			t.Fatalf("%s: description %q, want %q", s.name, got, s.wantDesc)
		}
		if spy.gets != s.wantGets {
			t.Fatalf("%s: %d store reads, want %d", s.name, spy.gets, s.wantGets)
		}
	}
	if _, err := e.EntityRawByRef(ctx, "component:default/missing"); err == nil {
		t.Fatal("missing entity: got no error")
	}
}

func TestEntityCacheBudget(t *testing.T) {
	c := newEntityCache(100_000)
	// Bodies that do not compress, so that each takes its size.
	body := func(i int) []byte {
		b := make([]byte, 1000)
		x := uint32(i*2654435761 + 1)
		for j := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[j] = 'a' + byte(x%26)
		}
		return b
	}
	ref := func(i int) string {
		return "component:default/e" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	for i := range 1000 {
		c.put(&Raw{Ref: ref(i), UID: ref(i) + "-uid", JSON: body(i)}, 1)
		if _, b := c.stats(); b > 100_000 {
			t.Fatalf("after %d puts: %d bytes, over the budget", i+1, b)
		}
	}
	n, _ := c.stats()
	if n < 50 || n > 100 {
		t.Fatalf("%d entries, want the newest 50-100", n)
	}
	if c.get(false, ref(0), 1) != nil {
		t.Fatal("the oldest entry was kept")
	}
	last := ref(999)
	if got := c.get(false, last, 1); got == nil || !bytes.Equal(got.JSON, body(999)) || got.UID != last+"-uid" {
		t.Fatalf("the newest entry by ref: got %+v", got)
	}
	if got := c.get(true, last+"-uid", 1); got == nil || !bytes.Equal(got.JSON, body(999)) || got.Ref != last {
		t.Fatalf("the newest entry by uid: got %+v", got)
	}
	if c.get(false, last, 2) != nil {
		t.Fatal("an entry of an older generation was served")
	}
	// Re-reading the same entity keeps the cache within its budget.
	for range 10_000 {
		c.put(&Raw{Ref: last, UID: last + "-uid", JSON: body(999)}, 1)
	}
	if _, b := c.stats(); b > 100_000 || len(c.slots) > 1000 {
		t.Fatalf("%d bytes, %d slots after re-reading one entity", b, len(c.slots))
	}
	// A newer generation empties it.
	c.put(&Raw{Ref: ref(1), UID: ref(1) + "-uid", JSON: body(1)}, 2)
	if n, _ := c.stats(); n != 1 || c.get(false, last, 1) != nil || c.get(false, last, 2) != nil {
		t.Fatalf("after a put of generation 2: %d entries", n)
	}
	c.put(&Raw{Ref: last, UID: last + "-uid", JSON: body(999)}, 1)
	if c.get(false, last, 1) != nil || c.get(false, last, 2) != nil {
		t.Fatal("an entry of an older generation was put")
	}
}

// getSpy counts lookups by ref and uid that reach the store.
type getSpy struct {
	store.Driver
	gets int
}

func (s *getSpy) EntityGetByRef(ctx context.Context, ref string) (*catalog.Stored, error) {
	s.gets++
	return s.Driver.EntityGetByRef(ctx, ref)
}

func (s *getSpy) EntityGetByUID(ctx context.Context, uid string) (*catalog.Stored, error) {
	s.gets++
	return s.Driver.EntityGetByUID(ctx, uid)
}

func TestEntitiesRawByRefs(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	spy := &refsSpy{Driver: openStore(t)}
	e := newEngine(t, Config{Store: spy, Now: func() time.Time { return now }, ReadCacheMaxAge: time.Minute})
	write := func(descA string) {
		t.Helper()
		var ents []Deferred
		for _, name := range []string{"a", "b"} {
			desc := "bee"
			if name == "a" {
				desc = descA
			}
			doc := catalog.Document{}
			js := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"` + name + `","description":"` + desc +
				`","annotations":{"backstage.io/managed-by-location":"test:a","backstage.io/managed-by-origin-location":"test:a"}},"spec":{"type":"service","lifecycle":"production","owner":"team"}}`
			if err := json.Unmarshal([]byte(js), &doc.Raw); err != nil {
				t.Fatal(err)
			}
			ents = append(ents, Deferred{Document: doc, LocationKey: "test:a"})
		}
		conn := &connection{e: e, name: "test"}
		if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: ents}); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	refs := []string{"component:default/a", "not a ref:", "component:default/missing", "Component:default/B", "component:default/a"}
	read := func(filter *catalog.Filter) []string {
		t.Helper()
		got, err := e.EntitiesRawByRefs(ctx, refs, filter)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(refs) {
			t.Fatalf("got %d items, want %d", len(got), len(refs))
		}
		out := make([]string, len(got))
		for i, raw := range got {
			if raw == nil {
				out[i] = "-"
				continue
			}
			ent, err := raw.Entity()
			if err != nil {
				t.Fatal(err)
			}
			out[i] = ent.Metadata.Name + ":" + ent.Metadata.Description
			if want, _ := Stitch(mustStored(t, spy.Driver, ent.Ref().String())); want.Metadata.Etag != ent.Metadata.Etag {
				t.Fatalf("%s: etag %s, want %s", ent.Ref(), ent.Metadata.Etag, want.Metadata.Etag)
			}
		}
		return out
	}
	onlyB, err := catalog.ParseFilterParams([]string{"metadata.name=b"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		do       func()
		filter   *catalog.Filter
		want     string
		wantRefs int // refs asked of the store so far
	}{
		{"first read: one batch of the valid refs", func() {}, nil, "a:one - - b:bee a:one", 4},
		{"second read: only the missing ref reaches the store", func() {}, nil, "a:one - - b:bee a:one", 5},
		{"a write is seen at once", func() { write("two") }, nil, "a:two - - b:bee a:two", 9},
		{"cached again", func() {}, nil, "a:two - - b:bee a:two", 10},
		{"a filter is evaluated by the store", func() {}, onlyB, "- - - b:bee -", 14},
		{"the next check finds the write in the log", func() { now = now.Add(time.Minute) }, nil, "a:two - - b:bee a:two", 18},
		{"still cached after max age when nothing changed: only the missing ref", func() { now = now.Add(time.Minute) }, nil, "a:two - - b:bee a:two", 19},
	}
	for _, s := range steps {
		s.do()
		if got := strings.Join(read(s.filter), " "); got != s.want {
			t.Fatalf("%s: got %s, want %s", s.name, got, s.want)
		}
		if spy.refs != s.wantRefs {
			t.Fatalf("%s: %d refs read from the store, want %d", s.name, spy.refs, s.wantRefs)
		}
	}
}

func mustStored(t *testing.T, d store.Driver, ref string) *catalog.Stored {
	t.Helper()
	s, err := d.EntityGetByRef(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refsSpy counts the refs by-refs reads ask of the store.
type refsSpy struct {
	store.Driver
	refs int
}

func (s *refsSpy) EntityGetByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Stored, error) {
	s.refs += len(refs)
	return s.Driver.EntityGetByRefs(ctx, refs, filter)
}
