package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// facetSpy counts the facet queries that reach the store.
type facetSpy struct {
	store.Driver
	queries int
}

func (s *facetSpy) EntityFacets(ctx context.Context, p store.EntityFacetsParams) (map[string][]store.FacetCount, error) {
	s.queries++
	return s.Driver.EntityFacets(ctx, p)
}

func record(kind, name string) catalog.Record {
	ref := catalog.Ref{Kind: kind, Namespace: "default", Name: name}
	return catalog.Record{
		Ref: ref.String(), Kind: kind, Namespace: "default", Name: name, Body: []byte(`{}`), Hash: "h",
		Search: []catalog.SearchRow{{Key: "kind", Value: strings.ToLower(kind), Original: kind}},
	}
}

func kindCount(t testing.TB, c *cachedStore, kind string) int {
	t.Helper()
	got, err := c.EntityFacets(context.Background(), store.EntityFacetsParams{Facets: []string{"kind"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range got["kind"] {
		if fc.Value == kind {
			return fc.Count
		}
	}
	return 0
}

func TestReadCacheFacets(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	spy := &facetSpy{Driver: openStore(t)}
	c := newCachedStore(spy, time.Minute, DefaultAnswerCacheBytes, func() time.Time { return now })
	write := func(recs ...catalog.Record) {
		t.Helper()
		if _, err := c.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	write(record("Component", "a"))

	steps := []struct {
		name        string
		do          func()
		wantCount   int
		wantQueries int
	}{
		{"first read queries", func() {}, 1, 1},
		{"second read is cached", func() {}, 1, 1},
		{"a write is seen at once", func() { write(record("Component", "b")) }, 2, 2},
		{"cached again", func() {}, 2, 2},
		{"a delete is seen at once", func() {
			if err := c.EntityDelete(ctx, []string{"component:default/a"}); err != nil {
				t.Fatal(err)
			}
		}, 1, 3},
		{"expired after max age", func() { now = now.Add(time.Minute) }, 1, 4},
		{"a changed result does not change the cache", func() {
			got, _ := c.EntityFacets(ctx, store.EntityFacetsParams{Facets: []string{"kind"}})
			got["kind"][0].Count = 99
		}, 1, 4},
	}
	for _, s := range steps {
		s.do()
		if got := kindCount(t, c, "Component"); got != s.wantCount {
			t.Errorf("%s: got count %v, want %v", s.name, got, s.wantCount)
		}
		if spy.queries != s.wantQueries {
			t.Errorf("%s: got %v store queries, want %v", s.name, spy.queries, s.wantQueries)
		}
	}
}

func TestReadCacheDisabled(t *testing.T) {
	spy := &facetSpy{Driver: openStore(t)}
	c := newCachedStore(spy, -1, DefaultAnswerCacheBytes, nil)
	kindCount(t, c, "Component")
	kindCount(t, c, "Component")
	if spy.queries != 2 {
		t.Errorf("got %v store queries, want %v", spy.queries, 2)
	}
}

func TestReadCacheKeysByFilter(t *testing.T) {
	ctx := context.Background()
	c := newCachedStore(openStore(t), time.Minute, DefaultAnswerCacheBytes, nil)
	if _, err := c.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{record("Component", "a"), record("API", "b")}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		kind string
		want int
	}{{"component", 1}, {"api", 1}, {"component", 1}} {
		got, err := c.EntityFacets(ctx, store.EntityFacetsParams{Facets: []string{"kind"}, Filter: catalog.In("kind", tt.kind)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got["kind"]) != tt.want {
			t.Fatalf("kind=%s: got %v, want %v value", tt.kind, got, tt.want)
		}
		if v := got["kind"][0].Value; !strings.EqualFold(v, tt.kind) {
			t.Errorf("kind=%s: got value %v, want %v", tt.kind, v, tt.kind)
		}
	}
}
