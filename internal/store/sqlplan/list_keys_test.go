package sqlplan

import (
	"context"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// keysRunner is a queryRunner with a relations column and key columns.
type keysRunner struct{ queryRunner }

func (*keysRunner) RelationsColumn() string { return "rels(e.ref)" }
func (*keysRunner) KeyColumns() string      { return "e.id, e.uid, e.ref, keys" }

// TestKeysOnlyColumns: a page asked keys only of a KeysRunner selects its
// key columns and no relations column, in every kind of page query; asked
// whole, it selects the entity columns and the relations.
func TestKeysOnlyColumns(t *testing.T) {
	f := catalog.All(catalog.In("kind", "component"), catalog.In("relations.ownedBy", "group:default/team-a"))
	orders := []struct {
		name   string
		order  *store.Order
		thenBy []store.Order
	}{
		{"uid", nil, nil},
		{"field", &store.Order{Field: "spec.type"}, nil},
		{"kind by name", &store.Order{Field: "metadata.name"}, nil},
		{"then by", &store.Order{Field: "spec.type"}, []store.Order{{Field: "metadata.name"}}},
	}
	for _, o := range orders {
		for _, keysOnly := range []bool{false, true} {
			r := &keysRunner{}
			p := store.EntityListParams{Filter: f, Order: o.order, ThenBy: o.thenBy, Limit: 10, KeysOnly: keysOnly}
			if _, err := List(context.Background(), Postgres, r, p); err != nil {
				t.Fatalf("%s: %v", o.name, err)
			}
			if len(r.entities) == 0 {
				t.Fatalf("%s: no page query", o.name)
			}
			for _, q := range r.entities {
				keys := strings.HasPrefix(q, "SELECT e.id, e.uid, e.ref, keys,")
				rels := strings.Contains(q, "rels(e.ref)")
				if keys != keysOnly || rels == keysOnly || strings.Contains(q, "e.body") == keysOnly {
					t.Errorf("%s, keys only %v: got %q", o.name, keysOnly, q)
				}
			}
		}
	}
}

// TestKeysOnlyIgnoredWithoutKeysRunner: a runner without key columns
// reads whole rows whatever KeysOnly says.
func TestKeysOnlyIgnoredWithoutKeysRunner(t *testing.T) {
	r := &queryRunner{}
	p := store.EntityListParams{Filter: catalog.In("kind", "component"), Limit: 10, KeysOnly: true}
	if _, err := List(context.Background(), SQLite, r, p); err != nil {
		t.Fatal(err)
	}
	if len(r.entities) != 1 || !strings.HasPrefix(r.entities[0], "SELECT "+EntityColumns+",") {
		t.Errorf("got %q, want the entity columns", r.entities)
	}
}
