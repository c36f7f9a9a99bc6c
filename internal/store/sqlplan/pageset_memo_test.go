package sqlplan

import (
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// TestPageMemoMatchesSameSets checks that a remembered page set answers
// only for the same filter shape over the very same leaf sets: a set with
// the same ids in other memory (a patched leaf) or another shape misses.
func TestPageMemoMatchesSameSets(t *testing.T) {
	a, b := catalog.In("kind", "component"), catalog.In("spec.lifecycle", "production")
	seen := map[string]*cacheLeaf{}
	for _, f := range []*catalog.Filter{a, b} {
		k, err := leafKey(f)
		if err != nil {
			t.Fatal(err)
		}
		seen[k] = &cacheLeaf{f: f, key: k}
	}
	and, ok := filterShape(catalog.All(a, b), seen)
	if !ok {
		t.Fatal("no shape for a filter whose leaves are cached")
	}
	or, _ := filterShape(catalog.Any(a, b), seen)
	not, _ := filterShape(catalog.All(a, catalog.Not(b)), seen)
	if and == or || and == not || or == not {
		t.Fatalf("shapes collide: %q %q %q", and, or, not)
	}
	if _, ok := filterShape(catalog.All(a, catalog.In("metadata.tags", "x")), seen); ok {
		t.Error("a shape for a filter with a leaf that has no set")
	}

	s1, s2 := idSet{0b1010}, idSet{0b0110}
	var m pageMemo
	m.put(and, &pageMemoEntry{sets: []idSet{s1, s2}, s: s1.and(s2)})
	if e := m.get(and, []idSet{s1, s2}); e == nil || e.s[0] != 0b0010 {
		t.Fatalf("same sets: got %v, want the entry", e)
	}
	if e := m.get(or, []idSet{s1, s2}); e != nil {
		t.Errorf("another shape: got %v, want nil", e)
	}
	copied := append(idSet(nil), s2...)
	if e := m.get(and, []idSet{s1, copied}); e != nil {
		t.Errorf("equal ids in other memory: got %v, want nil", e)
	}
	if e := m.get(and, []idSet{s1}); e != nil {
		t.Errorf("fewer sets: got %v, want nil", e)
	}
}
