package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// recordingRunner records the generic statements a page runs and can
// write before one of them.
type recordingRunner struct {
	runner
	queries []string
	// before, when set, runs before each generic statement.
	before func(query string)
}

func (r *recordingRunner) TextGeneric(ctx context.Context, query string, args []any) (string, error) {
	r.note(query)
	return r.runner.TextGeneric(ctx, query, args)
}

func (r *recordingRunner) EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	r.note(query)
	return r.runner.EntitiesGeneric(ctx, query, args)
}

func (r *recordingRunner) EntitiesGenericThenText(ctx context.Context, query string, args []any, textQuery string, textArgs []any) ([]*catalog.Stored, string, error) {
	r.note(query)
	return r.runner.EntitiesGenericThenText(ctx, query, args, textQuery, textArgs)
}

func (r *recordingRunner) note(query string) {
	r.queries = append(r.queries, query)
	if r.before != nil {
		r.before(query)
	}
}

// walked reports whether the page walked the kind's ids for a test in Go,
// and bitTested whether a statement tested the ids' bitmap in SQL.
func (r *recordingRunner) walked() bool {
	return slices.ContainsFunc(r.queries, func(q string) bool { return strings.Contains(q, "'ok;'") })
}

func (r *recordingRunner) bitTested() bool {
	return slices.ContainsFunc(r.queries, func(q string) bool { return strings.Contains(q, "get_bit(") })
}

// TestPostFilteredPages checks pages of one kind by name whose other
// conditions are tested in Go against the cached id sets (postFilter):
// paged forward and back by cursor they hold exactly the matches in order,
// with the right total, for an owners-style filter and a negated one; a
// write landing before the walk, or between the walk and the read of the
// rows, leaves the page to SQL, which answers for the catalog after it,
// and the next page is filtered in Go again.
func TestPostFilteredPages(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	type comp struct{ owner, life string }
	model := map[string]comp{}
	var recs []catalog.Record
	for i := range 60 {
		owner, life := "group:default/other", "experimental"
		switch i % 5 {
		case 0:
			owner = "group:default/mine"
		case 2:
			life = "production"
		}
		name := fmt.Sprintf("c-%02d", i)
		model[name] = comp{owner, life}
		recs = append(recs, component(name, owner, life))
	}
	recs = append(recs, group("mine"), group("other"))
	write := func(name, owner, life string) {
		t.Helper()
		if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{component(name, owner, life)}}); err != nil {
			t.Fatal(err)
		}
		model[name] = comp{owner, life}
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}

	owners := catalog.All(catalog.In("kind", "component"), catalog.Any(
		catalog.In("relations.ownedBy", "group:default/mine"),
		catalog.In("spec.lifecycle", "production"),
	))
	notExperimental := catalog.All(catalog.In("kind", "component"), catalog.Not(catalog.In("spec.lifecycle", "experimental")))
	matches := func(f *catalog.Filter) []string {
		var out []string
		for name, c := range model {
			if f == owners && (c.owner == "group:default/mine" || c.life == "production") ||
				f == notExperimental && c.life != "experimental" {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	page := func(t *testing.T, r sqlplan.Runner, f *catalog.Filter, after, before *store.Position) store.EntityListResult {
		t.Helper()
		res, err := sqlplan.List(ctx, sqlplan.Postgres, r, store.EntityListParams{
			Filter: f, Order: &store.Order{Field: "metadata.name"}, Limit: 5, CountTotal: true, After: after, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	position := func(s *catalog.Stored) *store.Position { return &store.Position{Value: s.SortValue, UID: s.UID} }

	for _, f := range []*catalog.Filter{owners, notExperimental} {
		// Twice: the first pass reads the sets, the second finds them
		// cached.
		for pass := range 2 {
			want := matches(f)
			var got []string
			var after *store.Position
			var last store.EntityListResult
			for {
				r := &recordingRunner{runner: runner{db}}
				res := page(t, r, f, after, nil)
				if !r.walked() || r.bitTested() {
					t.Fatalf("pass %d, page after %v: not filtered in Go: %q", pass, after, r.queries)
				}
				if res.Total != len(want) {
					t.Fatalf("pass %d: total %d, want %d", pass, res.Total, len(want))
				}
				got = append(got, componentNames(res.Items)...)
				last = res
				if !res.HasMore {
					break
				}
				after = position(res.Items[len(res.Items)-1])
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pass %d: paged %v, want %v", pass, got, want)
			}
			// Back from the last page's first item.
			r := &recordingRunner{runner: runner{db}}
			back := page(t, r, f, nil, position(last.Items[0]))
			n := len(want) - len(last.Items)
			if gotBack, wantBack := componentNames(back.Items), want[max(n-5, 0):n]; !r.walked() || !slices.Equal(gotBack, wantBack) {
				t.Fatalf("pass %d: back %v, want %v (walked %v)", pass, gotBack, wantBack, r.walked())
			}
		}
	}

	for _, tc := range []struct {
		name    string
		at      string // the statement the write lands before
		written [3]string
	}{
		{"written before the walk", "'ok;'", [3]string{"a-new", "group:default/mine", "experimental"}},
		{"written between the walk and the rows", "e.id = ANY(", [3]string{"c-00", "group:default/other", "experimental"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Nothing written since the last page: filtered in Go.
			r := &recordingRunner{runner: runner{db}}
			page(t, r, owners, nil, nil)
			if !r.walked() || r.bitTested() {
				t.Fatalf("before the write, not filtered in Go: %q", r.queries)
			}
			done := false
			r = &recordingRunner{runner: runner{db}, before: func(q string) {
				if !done && strings.Contains(q, tc.at) {
					done = true
					write(tc.written[0], tc.written[1], tc.written[2])
				}
			}}
			res := page(t, r, owners, nil, nil)
			if !done || !r.bitTested() {
				t.Fatalf("the write did not leave the page to SQL: %q", r.queries)
			}
			want := matches(owners)
			if got := componentNames(res.Items); !slices.Equal(got, want[:5]) || res.Total != len(want) {
				t.Fatalf("got %v (total %d), want %v (total %d)", got, res.Total, want[:5], len(want))
			}
			// The page's total read the sets up to date: the next page is
			// filtered in Go again and agrees.
			r = &recordingRunner{runner: runner{db}}
			res = page(t, r, owners, nil, nil)
			if !r.walked() || r.bitTested() {
				t.Fatalf("after the write, not filtered in Go: %q", r.queries)
			}
			if got := componentNames(res.Items); !slices.Equal(got, want[:5]) || res.Total != len(want) {
				t.Fatalf("next page: got %v (total %d), want %v (total %d)", got, res.Total, want[:5], len(want))
			}
		})
	}
}
