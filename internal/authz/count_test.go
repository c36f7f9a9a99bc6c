package authz

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// TestTotalsOnALargerCatalog checks the total of conditional lists against
// the number of entities listed, on a synthetic catalog large enough
// (3 000 entities) that no leaf is selective, so that totals are counted
// by id sets on both engines, and for filters with a selective leaf, which
// count in SQL.
func TestTotalsOnALargerCatalog(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 3 000 entities")
	}
	t.Run("sqlite", func(t *testing.T) { testTotals(t, openTestStore(t)) })
	t.Run("postgres", func(t *testing.T) { testTotals(t, openPostgresStore(t, postgresDSN(t))) })
}

func testTotals(t *testing.T, db store.Driver) {
	ctx := context.Background()
	const n = 3000
	if err := storetest.Load(ctx, db, 0, n, n, 1000); err != nil {
		t.Fatal(err)
	}
	team := "group:default/team-0001"
	filters := map[string]*catalog.Filter{
		"deny a tag":        catalog.All(catalog.In("kind", "component"), catalog.Not(catalog.In("metadata.tags", "payments"))),
		"owners or prod":    catalog.All(catalog.In("kind", "component"), catalog.Any(catalog.In("relations.ownedby", team), catalog.In("spec.lifecycle", "production"))),
		"not (a or b)":      catalog.Not(catalog.Any(catalog.In("metadata.tags", "go"), catalog.In("kind", "api"))),
		"a or not b":        catalog.Any(catalog.In("metadata.tags", "rust"), catalog.Not(catalog.In("spec.lifecycle", "deprecated"))),
		"selective owner":   catalog.All(catalog.In("relations.ownedby", team), catalog.Not(catalog.In("metadata.tags", "java"))),
		"prefix and exists": catalog.All(catalog.Prefix("metadata.name", "component-00001"), catalog.Exists("spec.system")),
		"nothing":           catalog.All(catalog.In("kind", "component"), catalog.In("kind", "api")),
	}
	for name, f := range filters {
		all, err := db.EntityList(ctx, store.EntityListParams{Filter: f})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		page, err := db.EntityList(ctx, store.EntityListParams{Filter: f, Limit: 5, CountTotal: true, Order: &store.Order{Field: "metadata.name"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if page.Total != len(all.Items) {
			t.Errorf("%s (%s): got total %d, want %d", name, FilterString(f), page.Total, len(all.Items))
		}
	}
}
