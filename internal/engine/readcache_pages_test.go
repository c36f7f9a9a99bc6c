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

// listSpy counts the list and facet queries that reach the store.
type listSpy struct {
	store.Driver
	lists, facets int
	pages         int // lists that read a page (not CountOnly)
}

func (s *listSpy) EntityList(ctx context.Context, p store.EntityListParams) (store.EntityListResult, error) {
	s.lists++
	if !p.CountOnly {
		s.pages++
	}
	return s.Driver.EntityList(ctx, p)
}

func (s *listSpy) EntityFacets(ctx context.Context, p store.EntityFacetsParams) (map[string][]store.FacetCount, error) {
	s.facets++
	return s.Driver.EntityFacets(ctx, p)
}

// ownedComponent is a stored component of team owner with a real body.
func ownedComponent(name, owner string) catalog.Record {
	ref := catalog.Ref{Kind: "Component", Namespace: "default", Name: name}
	body := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"` + name +
		`","namespace":"default","description":"<b>` + name + `</b>"},"spec":{"type":"service","owner":"` + owner + `"}}`
	return catalog.Record{
		Ref: ref.String(), Kind: "Component", Namespace: "default", Name: name, Body: []byte(body), Hash: name,
		Search: []catalog.SearchRow{
			{Key: "kind", Value: "component", Original: "Component"},
			{Key: "metadata.name", Value: name, Original: name},
			{Key: "spec.owner", Value: owner, Original: owner},
		},
	}
}

func answersEngine(t *testing.T, now *time.Time) (*Engine, *listSpy, func(...catalog.Record)) {
	t.Helper()
	spy := &listSpy{Driver: openStore(t)}
	e := newEngine(t, Config{Store: spy, Now: func() time.Time { return *now }, ReadCacheMaxAge: time.Minute})
	write := func(recs ...catalog.Record) {
		t.Helper()
		if _, err := e.store.EntityUpsert(context.Background(), store.EntityUpsertParams{Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	return e, spy, write
}

// TestFacetsRawCached: the encoded facets are served from the cache until
// a write or the maximum age, per filter (the caller's read conditions are
// part of the filter), and encode as the API always did.
func TestFacetsRawCached(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	e, spy, write := answersEngine(t, &now)
	write(ownedComponent("a", "team-a"), ownedComponent("b", "team-b"))
	names := []string{"spec.owner", "kind", "missing"}
	get := func(f *catalog.Filter) string {
		t.Helper()
		b, err := e.FacetsRaw(ctx, names, f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := `{"facets":{"kind":[{"value":"Component","count":2}],"missing":[],"spec.owner":[{"value":"team-a","count":1},{"value":"team-b","count":1}]}}`
	steps := []struct {
		name   string
		do     func()
		filter *catalog.Filter
		want   string
		reads  int
	}{
		{"first read queries", func() {}, nil, want, 1},
		{"second read is cached", func() {}, nil, want, 1},
		{"another scope reads its own", func() {}, catalog.In("spec.owner", "team-a"),
			`{"facets":{"kind":[{"value":"Component","count":1}],"missing":[],"spec.owner":[{"value":"team-a","count":1}]}}`, 2},
		{"the first scope is still cached", func() {}, nil, want, 2},
		{"a write is seen at once", func() { write(ownedComponent("c", "team-a")) }, nil,
			`{"facets":{"kind":[{"value":"Component","count":3}],"missing":[],"spec.owner":[{"value":"team-a","count":2},{"value":"team-b","count":1}]}}`, 3},
		{"expired after max age", func() { now = now.Add(time.Minute) }, nil,
			`{"facets":{"kind":[{"value":"Component","count":3}],"missing":[],"spec.owner":[{"value":"team-a","count":2},{"value":"team-b","count":1}]}}`, 4},
	}
	for _, s := range steps {
		s.do()
		if got := get(s.filter); got != s.want {
			t.Errorf("%s: got %s, want %s", s.name, got, s.want)
		}
		if spy.facets != s.reads {
			t.Errorf("%s: got %d store reads, want %d", s.name, spy.facets, s.reads)
		}
	}
}

// TestEntitiesRawCached: first pages (with their totals, projected or not)
// are served from the cache until a write; pages after a cursor are read
// every time; a projected page holds what projecting the decoded entity
// gives, encoded as the API encodes it.
func TestEntitiesRawCached(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	e, spy, write := answersEngine(t, &now)
	write(ownedComponent("a", "team-a"), ownedComponent("b", "team-a"), ownedComponent("c", "team-b"))
	fields := []string{"kind", "metadata.name", "metadata.description", "spec.owner"}
	q := Query{Filter: catalog.In("kind", "component"), Order: &store.Order{Field: "metadata.name"}, Limit: 2, CountTotal: true, Fields: fields}
	page := func(q Query) *RawPage {
		t.Helper()
		p, err := e.EntitiesRaw(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := page(q)
	if !first.Projected || first.Total != 3 || !first.HasMore || len(first.Items) != 2 {
		t.Fatalf("first page: got %+v, want 2 projected items of 3", first)
	}
	dec, err := e.Entities(ctx, Query{Filter: q.Filter, Order: q.Order, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range first.Items {
		p, err := catalog.Project(dec.Items[i], fields)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(p)
		if got := string(it.JSON); got != strings.TrimSpace(want.String()) {
			t.Errorf("item %d: got %s, want %s", i, got, want.String())
		}
	}
	lists := spy.lists
	if again := page(q); again != first || spy.lists != lists {
		t.Errorf("the same first page: got %d more store reads (same page %v), want it cached", spy.lists-lists, again == first)
	}
	other := q
	other.Fields = nil
	if p := page(other); p.Projected || spy.lists != lists+1 || !strings.Contains(string(p.Items[0].JSON), `"apiVersion"`) {
		t.Errorf("without fields: got projected %v after %d store reads, want whole entities read once", p.Projected, spy.lists-lists)
	}
	lists = spy.lists
	next := q
	next.After = first.Last
	page(next)
	page(next)
	if spy.lists != lists+2 {
		t.Errorf("pages after a cursor: got %d store reads, want 2", spy.lists-lists)
	}
	write(ownedComponent("d", "team-b"))
	if p := page(q); p.Total != 4 {
		t.Errorf("after a write: got total %d, want 4", p.Total)
	}
}

// TestFacetsWithinKinds: facets within nothing but kinds (counted from
// the indexes alone) equal the same facets counted by the general query,
// relations whose source is not stored included.
func TestFacetsWithinKinds(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	var recs []catalog.Record
	for i, owner := range []string{"team-a", "team-b", "team-a", "team-c"} {
		r := ownedComponent(string(rune('a'+i)), owner)
		r.Search = append(r.Search, catalog.SearchRow{Key: "spec.lifecycle", Value: []string{"production", "experimental"}[i%2], Original: []string{"Production", "experimental"}[i%2]})
		r.Relations = []catalog.RelationRow{{Source: r.Ref, Type: "ownedBy", Target: "group:default/" + owner}}
		recs = append(recs, r)
	}
	api := record("API", "x")
	api.Relations = []catalog.RelationRow{{Source: api.Ref, Type: "ownedBy", Target: "group:default/team-a"}}
	api.Search = append(api.Search, catalog.SearchRow{Key: "spec.lifecycle", Value: "production", Original: "Production"})
	orphan := record("Component", "y")
	orphan.Relations = []catalog.RelationRow{
		{Source: orphan.Ref, Type: "ownedBy", Target: "group:default/team-b"},
		{Source: "component:default/not-stored", Type: "ownedBy", Target: "group:default/team-b"},
	}
	recs = append(recs, api, orphan)
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	facets := []string{"relations.ownedBy", "spec.lifecycle", "kind", "spec.owner"}
	for _, kinds := range [][]string{{"Component"}, {"component", "api"}, {"group"}} {
		fast, err := db.EntityFacets(ctx, store.EntityFacetsParams{Facets: facets, Filter: catalog.In("kind", kinds...)})
		if err != nil {
			t.Fatal(err)
		}
		general, err := db.EntityFacets(ctx, store.EntityFacetsParams{Facets: facets,
			Filter: catalog.All(catalog.In("kind", kinds...), catalog.Exists("kind"))})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(fast)
		want, _ := json.Marshal(general)
		if string(got) != string(want) {
			t.Errorf("kinds %v: got %s, want %s", kinds, got, want)
		}
		if kinds[0] == "Component" && len(fast["relations.ownedBy"]) != 3 {
			t.Errorf("kinds %v: got owners %v, want team-a, team-b and team-c", kinds, fast["relations.ownedBy"])
		}
	}
}
