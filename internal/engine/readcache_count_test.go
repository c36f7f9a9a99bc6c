package engine

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// countSpy counts the list calls that ask the store for a total.
type countSpy struct {
	store.Driver
	counts int
}

func (s *countSpy) EntityList(ctx context.Context, p store.EntityListParams) (store.EntityListResult, error) {
	if p.CountTotal {
		s.counts++
	}
	return s.Driver.EntityList(ctx, p)
}

func TestReadCacheCounts(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	spy := &countSpy{Driver: openStore(t)}
	c := newCachedStore(spy, time.Minute, DefaultAnswerCacheBytes, func() time.Time { return now })
	write := func(recs ...catalog.Record) {
		t.Helper()
		if _, err := c.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	write(record("Component", "a"), record("Component", "b"), record("Component", "c"), record("API", "d"))
	components := catalog.In("kind", "component")
	page := func(after *store.Position) store.EntityListResult {
		t.Helper()
		r, err := c.EntityList(ctx, store.EntityListParams{Filter: components, Limit: 1, After: after, CountTotal: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name       string
		do         func() *store.Position
		wantTotal  int
		wantCounts int
	}{
		{"first page counts", func() *store.Position { return nil }, 3, 1},
		{"the next page reuses the count", func() *store.Position {
			return &store.Position{UID: page(nil).Items[0].UID}
		}, 3, 1},
		{"a write is seen at once", func() *store.Position { write(record("Component", "e")); return nil }, 4, 2},
		{"expired after max age", func() *store.Position { now = now.Add(time.Minute); return nil }, 4, 3},
	}
	for _, s := range steps {
		r := page(s.do())
		if r.Total != s.wantTotal || len(r.Items) != 1 {
			t.Fatalf("%s: total %d with %d items, want %d with 1", s.name, r.Total, len(r.Items), s.wantTotal)
		}
		if spy.counts != s.wantCounts {
			t.Fatalf("%s: %d counting calls, want %d", s.name, spy.counts, s.wantCounts)
		}
	}
	r, err := c.EntityList(ctx, store.EntityListParams{Filter: catalog.In("kind", "api"), Limit: 1, CountTotal: true})
	if err != nil || r.Total != 1 {
		t.Fatalf("another filter: total %d (%v), want 1", r.Total, err)
	}
}

// TestEntitiesRawCountOnly: a count alone reaches the store as CountOnly
// (no page is read), is cached like a total and is counted again after a
// write.
func TestEntitiesRawCountOnly(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	e, spy, write := answersEngine(t, &now)
	write(ownedComponent("a", "team-a"), ownedComponent("b", "team-b"))
	q := Query{Filter: catalog.In("kind", "component"), Limit: 1, CountTotal: true, CountOnly: true}
	steps := []struct {
		name      string
		do        func()
		wantTotal int
		wantLists int
	}{
		{"counted", func() {}, 2, 1},
		{"cached", func() {}, 2, 1},
		{"a write is seen at once", func() { write(ownedComponent("c", "team-a")) }, 3, 2},
	}
	for _, s := range steps {
		s.do()
		page, err := e.EntitiesRaw(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != s.wantTotal {
			t.Errorf("%s: Total: got %d, want %d", s.name, page.Total, s.wantTotal)
		}
		if len(page.Items) != 0 || page.HasMore {
			t.Errorf("%s: page: got %d items, HasMore %v, want none", s.name, len(page.Items), page.HasMore)
		}
		if spy.lists != s.wantLists {
			t.Errorf("%s: store lists: got %d, want %d", s.name, spy.lists, s.wantLists)
		}
		if spy.pages != 0 {
			t.Errorf("%s: pages read: got %d, want 0", s.name, spy.pages)
		}
	}
}
