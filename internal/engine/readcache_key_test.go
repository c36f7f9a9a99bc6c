package engine

import (
	"encoding/json"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

func TestCountKeyTellsFiltersApart(t *testing.T) {
	filters := []struct {
		name string
		f    *catalog.Filter
		ft   *store.FullText
	}{
		{"nil", nil, nil},
		{"empty all", catalog.All(), nil},
		{"empty any", catalog.Any(), nil},
		{"in a,bc", catalog.In("kind", "a", "bc"), nil},
		{"in ab,c", catalog.In("kind", "ab", "c"), nil},
		{"in abc", catalog.In("kind", "abc"), nil},
		{"other key", catalog.In("kinda", "bc"), nil},
		{"prefix", catalog.Prefix("kind", "abc"), nil},
		{"exists", catalog.Exists("kind"), nil},
		{"not", catalog.Not(catalog.In("kind", "abc")), nil},
		{"all of two", catalog.All(catalog.In("kind", "a"), catalog.In("spec.type", "b")), nil},
		{"all swapped", catalog.All(catalog.In("spec.type", "b"), catalog.In("kind", "a")), nil},
		{"all nested", catalog.All(catalog.All(catalog.In("kind", "a")), catalog.In("spec.type", "b")), nil},
		{"any of two", catalog.Any(catalog.In("kind", "a"), catalog.In("spec.type", "b")), nil},
		{"full text", nil, &store.FullText{Term: "abc"}},
		{"full text fields", nil, &store.FullText{Term: "abc", Fields: []string{"kind"}}},
		{"full text other term", nil, &store.FullText{Term: "ab", Fields: []string{"ckind"}}},
	}
	seen := map[string]string{}
	for _, c := range filters {
		k := countKey(c.f, c.ft)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s: same key as %s", c.name, prev)
		}
		seen[k] = c.name
		// Equal filters built apart share the key.
		if again := countKey(clone(c.f), c.ft); again != k {
			t.Errorf("%s: got key %q for an equal filter, want %q", c.name, again, k)
		}
	}
}

func clone(f *catalog.Filter) *catalog.Filter {
	if f == nil {
		return nil
	}
	c := &catalog.Filter{Op: f.Op, Key: f.Key, Match: f.Match, Values: append([]string(nil), f.Values...)}
	for _, ch := range f.Children {
		c.Children = append(c.Children, clone(ch))
	}
	return c
}

// BenchmarkCountKey compares the key with the JSON encoding it replaced,
// for the filter of an owners-only page.
func BenchmarkCountKey(b *testing.B) {
	f := catalog.All(catalog.In("kind", "component"), catalog.Any(
		catalog.In("relations.ownedby", "user:default/jane", "group:default/team-0001"),
		catalog.In("spec.lifecycle", "production")))
	b.Run("countKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = countKey(f, nil)
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			kb, err := json.Marshal(struct {
				F  any
				FT any
			}{f, (*store.FullText)(nil)})
			if err != nil {
				b.Fatal(err)
			}
			_ = "count\x00" + string(kb)
		}
	})
}
