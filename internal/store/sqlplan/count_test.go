package sqlplan

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// setRunner answers countSets' queries from in-memory id sets keyed by the
// leaf's first bound value (its key).
type setRunner struct {
	universe int
	leaves   map[string][]int
}

func (r setRunner) Entities(context.Context, string, []any) ([]*catalog.Stored, error) {
	panic("not used")
}

func (r setRunner) Count(_ context.Context, q string, _ []any) (int, error) {
	if q != "SELECT count(*) FROM entities" {
		panic("unexpected count: " + q)
	}
	return r.universe, nil
}

func (r setRunner) Text(_ context.Context, _ string, args []any) (string, error) {
	ids := r.leaves[args[0].(string)]
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ","), nil
}

// TestCountSets checks the set algebra of countSets against evaluating
// random filters id by id.
func TestCountSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const universe = 300
	keys := []string{"a", "b", "c", "d"}
	r := setRunner{universe: universe, leaves: map[string][]int{}}
	member := map[string]map[int]bool{}
	for _, k := range keys {
		member[k] = map[int]bool{}
		for id := 1; id <= universe; id++ {
			if rng.IntN(3) == 0 {
				r.leaves[k] = append(r.leaves[k], id)
				member[k][id] = true
			}
		}
	}
	var gen func(depth int) *catalog.Filter
	gen = func(depth int) *catalog.Filter {
		if depth > 3 || rng.IntN(3) == 0 {
			return catalog.In(keys[rng.IntN(len(keys))], "x")
		}
		switch rng.IntN(3) {
		case 0:
			return catalog.Not(gen(depth + 1))
		case 1:
			return catalog.All(gen(depth+1), gen(depth+1), gen(depth+1))
		}
		kids := make([]*catalog.Filter, rng.IntN(3))
		for i := range kids {
			kids[i] = gen(depth + 1)
		}
		if rng.IntN(2) == 0 {
			return catalog.All(kids...)
		}
		return catalog.Any(kids...)
	}
	var match func(f *catalog.Filter, id int) bool
	match = func(f *catalog.Filter, id int) bool {
		switch f.Op {
		case catalog.OpMatch:
			return member[f.Key][id]
		case catalog.OpNot:
			return !match(f.Children[0], id)
		case catalog.OpAll:
			for _, c := range f.Children {
				if !match(c, id) {
					return false
				}
			}
			return true
		}
		for _, c := range f.Children {
			if match(c, id) {
				return true
			}
		}
		return false
	}
	// The same leaves as cached sets, which an evaluation combines
	// without changing them (it reuses only the memory it made).
	cached, pristine := map[string]idSet{}, map[string]idSet{}
	var all idSet
	for id := 1; id <= universe; id++ {
		all = all.or(setOf(int64(id)))
	}
	for _, k := range keys {
		var ids []int64
		for _, id := range r.leaves[k] {
			ids = append(ids, int64(id))
		}
		cached[k], pristine[k] = setOf(ids...), setOf(ids...)
	}
	var bind func(f *catalog.Filter, sets map[*catalog.Filter]idSet)
	bind = func(f *catalog.Filter, sets map[*catalog.Filter]idSet) {
		if f.Op == catalog.OpMatch {
			sets[f] = cached[f.Key]
		}
		for _, k := range f.Children {
			bind(k, sets)
		}
	}
	for i := range 500 {
		f := gen(0)
		want := 0
		for id := 1; id <= universe; id++ {
			if match(f, id) {
				want++
			}
		}
		got, ok, err := countSets(context.Background(), SQLite, r, f)
		if err != nil || !ok {
			t.Fatalf("filter %d: ok %v, err %v", i, ok, err)
		}
		if got != want {
			t.Fatalf("filter %d: got %d, want %d", i, got, want)
		}

		c := setCounter{d: SQLite, sets: map[*catalog.Filter]idSet{}}
		bind(f, c.sets)
		s, complement, err := c.eval(context.Background(), f, 0)
		if err != nil {
			t.Fatal(err)
		}
		if complement {
			s = all.andNot(s)
		}
		if got := s.count(); got != want {
			t.Fatalf("filter %d over cached sets: got %d, want %d", i, got, want)
		}
		for _, k := range keys {
			if !slices.Equal(cached[k], pristine[k]) {
				t.Fatalf("filter %d changed the cached set of %s", i, k)
			}
		}
	}
}

func TestParseIDs(t *testing.T) {
	s, ok, err := parseIDs("3,64,3,1000")
	if err != nil || !ok {
		t.Fatalf("got ok %v, err %v", ok, err)
	}
	if got, want := s.count(), 3; got != want {
		t.Errorf("got %d ids, want %d", got, want)
	}
	if s, ok, err := parseIDs(""); err != nil || !ok || s.count() != 0 {
		t.Errorf("empty list: got %v %v %v", s, ok, err)
	}
	if _, ok, _ := parseIDs("1," + strconv.Itoa(maxSetID+1)); ok {
		t.Error("an id above maxSetID was accepted")
	}
	if _, _, err := parseIDs("1,x"); err == nil {
		t.Error("a malformed list was accepted")
	}
}

// planRunner records which kind of plan each entity query asked for.
type planRunner struct{ generic, custom int }

func (r *planRunner) Entities(context.Context, string, []any) ([]*catalog.Stored, error) {
	r.custom++
	return nil, nil
}

func (r *planRunner) EntitiesGeneric(context.Context, string, []any) ([]*catalog.Stored, error) {
	r.generic++
	return nil, nil
}

func (r *planRunner) Count(context.Context, string, []any) (int, error) { return 0, nil }

// TestGenericPlanOnlyForProbes checks that a page of one kind by name runs
// under a generic plan only when no other leaf of the top-level AND could
// start the query: a plan for the values must see a selective one.
func TestGenericPlanOnlyForProbes(t *testing.T) {
	kind := catalog.In("kind", "component")
	owned := catalog.In("relations.ownedby", "group:default/a")
	prod := catalog.In("spec.lifecycle", "production")
	tagged := catalog.In("metadata.tags", "payments")
	for _, c := range []struct {
		name    string
		filter  *catalog.Filter
		generic bool
	}{
		{"kind only", kind, true},
		{"owners-only policy", catalog.All(kind, catalog.Any(owned, prod)), true},
		{"deny rule on a tag", catalog.All(kind, catalog.Not(tagged)), true},
		{"nested AND of probes", catalog.All(catalog.All(kind), catalog.Not(tagged)), true},
		{"another leaf", catalog.All(kind, owned), false},
		{"another leaf beside a policy", catalog.All(kind, catalog.Any(owned, prod), tagged), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &planRunner{}
			_, err := List(context.Background(), Postgres, r, store.EntityListParams{
				Filter: c.filter, Order: &store.Order{Field: "metadata.name"}, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.generic > 0; got != c.generic {
				t.Errorf("generic plan: got %v, want %v (generic %d, custom %d)", got, c.generic, r.generic, r.custom)
			}
		})
	}
}
