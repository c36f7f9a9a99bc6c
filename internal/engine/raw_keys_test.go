package engine

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// keysSpy counts the pages asked keys only and the refs read by ref, and
// answers by-ref reads of hide as absent, as if it had just been deleted.
type keysSpy struct {
	store.Driver
	keysPages, refs int
	hide            string
}

func (s *keysSpy) EntityList(ctx context.Context, p store.EntityListParams) (store.EntityListResult, error) {
	if p.KeysOnly {
		s.keysPages++
	}
	return s.Driver.EntityList(ctx, p)
}

func (s *keysSpy) EntityGetByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Stored, error) {
	s.refs += len(refs)
	out, err := s.Driver.EntityGetByRefs(ctx, refs, filter)
	for i, it := range out {
		if it != nil && it.Ref == s.hide {
			out[i] = nil
		}
	}
	return out, err
}

// TestEntitiesRawKeysOnly: while the entity cache may be served, a page
// is read keys only and its JSON comes from the cache, byte for byte what
// a page read whole gives; entities the cache lacks are read by ref, and
// one gone meanwhile leaves the page; on both engines.
func TestEntitiesRawKeysOnly(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var d store.Driver
			if engine == "sqlite" {
				d = testdb.SQLite(t)
			} else {
				d = testdb.Postgres(t)
			}
			now := time.Unix(1000, 0)
			clock := func() time.Time { return now }
			spy := &keysSpy{Driver: d}
			// No answer cache: every page reaches entitiesRaw.
			e := newEngine(t, Config{Store: spy, Now: clock, ReadCacheMaxAge: time.Minute, AnswerCacheBytes: -1})
			whole := newEngine(t, Config{Store: d, Now: clock, ReadCacheMaxAge: time.Minute, AnswerCacheBytes: -1, EntityCacheBytes: -1})
			write := func(descA string) {
				t.Helper()
				conn := &connection{e: e, name: "test"}
				ents := []Deferred{componentDoc(t, "a", descA), componentDoc(t, "b", "bee"), componentDoc(t, "c", "sea")}
				if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: ents}); err != nil {
					t.Fatal(err)
				}
			}
			q := Query{Filter: catalog.In("kind", "component"), Order: &store.Order{Field: "metadata.name"}, Limit: 10, CountTotal: true}
			page := func() string {
				t.Helper()
				got, err := e.EntitiesRaw(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := whole.EntitiesRaw(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for i, raw := range got.Items {
					ent, err := raw.Entity()
					if err != nil {
						t.Fatal(err)
					}
					names = append(names, ent.Metadata.Name+":"+ent.Metadata.Description)
					if spy.hide != "" {
						continue
					}
					if i >= len(want.Items) || !bytes.Equal(raw.JSON, want.Items[i].JSON) || raw.Ref != want.Items[i].Ref || raw.UID != want.Items[i].UID {
						t.Fatalf("item %d: got %s %s %s, want the whole page's", i, raw.Ref, raw.UID, raw.JSON)
					}
				}
				if spy.hide == "" && (len(got.Items) != len(want.Items) || got.Total != want.Total || got.HasMore != want.HasMore) {
					t.Fatalf("got %d items, total %d, more %v; want %d, %d, %v", len(got.Items), got.Total, got.HasMore, len(want.Items), want.Total, want.HasMore)
				}
				return strings.Join(names, " ")
			}
			write("one")
			steps := []struct {
				name     string
				do       func()
				want     string
				wantRefs int // refs read by ref so far
			}{
				{"first page: every entity read by ref", func() {}, "a:one b:bee c:sea", 3},
				{"second page: from the cache", func() {}, "a:one b:bee c:sea", 3},
				{"a write is seen at once", func() { write("two") }, "a:two b:bee c:sea", 6},
				{"cached again", func() {}, "a:two b:bee c:sea", 6},
				{"an entity gone before its read leaves the page", func() {
					write("three")
					spy.hide = "component:default/b"
				}, "a:three c:sea", 9},
			}
			for _, s := range steps {
				s.do()
				if got := page(); got != s.want {
					t.Fatalf("%s: got %s, want %s", s.name, got, s.want)
				}
				if spy.refs != s.wantRefs {
					t.Fatalf("%s: %d refs read by ref, want %d", s.name, spy.refs, s.wantRefs)
				}
			}
			if spy.keysPages != 5 {
				t.Fatalf("%d pages asked keys only, want 5", spy.keysPages)
			}
		})
	}
}

// TestEntitiesRawKeysAnswer: with the answer cache, a page's keys are
// cached and a hit takes the JSON from the entity cache: no list and no
// read by ref, the same bytes. Entities the entity cache no longer has
// are read by ref; a write reads the page again.
func TestEntitiesRawKeysAnswer(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var d store.Driver
			if engine == "sqlite" {
				d = testdb.SQLite(t)
			} else {
				d = testdb.Postgres(t)
			}
			now := time.Unix(1000, 0)
			clock := func() time.Time { return now }
			spy := &keysSpy{Driver: d}
			e := newEngine(t, Config{Store: spy, Now: clock, ReadCacheMaxAge: time.Minute})
			whole := newEngine(t, Config{Store: d, Now: clock, ReadCacheMaxAge: time.Minute, AnswerCacheBytes: -1, EntityCacheBytes: -1})
			write := func(descA string) {
				t.Helper()
				conn := &connection{e: e, name: "test"}
				ents := []Deferred{componentDoc(t, "a", descA), componentDoc(t, "b", "bee")}
				if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: ents}); err != nil {
					t.Fatal(err)
				}
			}
			q := Query{Filter: catalog.In("kind", "component"), Order: &store.Order{Field: "metadata.name"}, Limit: 10, CountTotal: true}
			page := func() string {
				t.Helper()
				got, err := e.EntitiesRaw(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := whole.EntitiesRaw(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Items) != len(want.Items) || got.Total != want.Total || got.HasMore != want.HasMore {
					t.Fatalf("got %d items, total %d, more %v; want %d, %d, %v", len(got.Items), got.Total, got.HasMore, len(want.Items), want.Total, want.HasMore)
				}
				var names []string
				for i, raw := range got.Items {
					if !bytes.Equal(raw.JSON, want.Items[i].JSON) || raw.Ref != want.Items[i].Ref {
						t.Fatalf("item %d: got %s %s, want the whole page's", i, raw.Ref, raw.JSON)
					}
					ent, err := raw.Entity()
					if err != nil {
						t.Fatal(err)
					}
					names = append(names, ent.Metadata.Name+":"+ent.Metadata.Description)
				}
				return strings.Join(names, " ")
			}
			// refs read by ref: pages are read keys only and filled by
			// ref from the entity cache's misses.
			refs := []int{2, 2, 2, 4, 6}
			write("one")
			steps := []struct {
				name  string
				do    func()
				want  string
				pages int // pages read from the store so far
			}{
				{"first page", func() {}, "a:one b:bee", 1},
				{"second page: keys from the answer cache, JSON from the entity cache", func() {}, "a:one b:bee", 1},
				{"third page, the same", func() {}, "a:one b:bee", 1},
				{"an entity gone from the entity cache is read by ref", func() {
					e.ents.mu.Lock()
					e.ents.resetLocked()
					e.ents.mu.Unlock()
				}, "a:one b:bee", 1},
				{"a write reads the page again", func() { write("two") }, "a:two b:bee", 2},
			}
			for i, s := range steps {
				s.do()
				if got := page(); got != s.want {
					t.Fatalf("%s: got %s, want %s", s.name, got, s.want)
				}
				if spy.keysPages != s.pages || spy.refs != refs[i] {
					t.Fatalf("%s: %d pages and %d refs read, want %d and %d", s.name, spy.keysPages, spy.refs, s.pages, refs[i])
				}
			}
		})
	}
}
