package sqlplan

import (
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// TestPinnedIDSets: a pinned set answers by handle until released, then
// the handle fails instead of answering.
func TestPinnedIDSets(t *testing.T) {
	h, release := pinIDSet(setOf(3, 64, 130))
	h2, release2 := pinIDSet(setOf(5))
	defer release2()
	if h == h2 {
		t.Fatalf("two pinned sets share handle %d", h)
	}
	for id, want := range map[int64]bool{3: true, 64: true, 130: true, 4: false, 0: false, 129: false, 1 << 40: false, -1: false} {
		got, err := IDSetHas(h, id)
		if err != nil || got != want {
			t.Errorf("IDSetHas(%d, %d) = %v, %v; want %v", h, id, got, err, want)
		}
	}
	if got, err := IDSetHas(h2, 5); err != nil || !got {
		t.Errorf("IDSetHas(%d, 5) = %v, %v; want true", h2, got, err)
	}
	release()
	if _, err := IDSetHas(h, 3); err == nil {
		t.Errorf("IDSetHas of a released handle %d: no error", h)
	}
}

// TestSQLiteSetsOnlyPastOneProbe: the SQLite walk by name tests the id
// sets when its other conditions are two leaves or more, not one.
func TestSQLiteSetsOnlyPastOneProbe(t *testing.T) {
	EnableIDSetFunction()
	kind := catalog.In("kind", "component")
	owners := catalog.All(kind, catalog.Any(catalog.In("spec.owner", "a"), catalog.Not(catalog.In("spec.lifecycle", "production"))))
	deny := catalog.All(kind, catalog.Not(catalog.In("metadata.tags", "secret")))
	for _, c := range []struct {
		f    *catalog.Filter
		want bool
	}{{owners, true}, {deny, false}} {
		l := lister{d: SQLite, p: store.EntityListParams{Filter: c.f}, kindLeaf: kind}
		if got := l.sqliteSets(); got != c.want {
			t.Errorf("sqliteSets(%v) = %v, want %v", c.f, got, c.want)
		}
		l.d = Postgres
		if l.sqliteSets() {
			t.Errorf("sqliteSets on PostgreSQL")
		}
	}
}
