package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

// TestIDSetFunctionUnknownHandle: a handle under which no set is pinned
// fails the statement rather than answering.
func TestIDSetFunctionUnknownHandle(t *testing.T) {
	db := openTest(t)
	var v int64
	err := db.read.QueryRowContext(context.Background(), "SELECT "+sqlplan.IDSetFunction+"(?, 1)", int64(-7)).Scan(&v)
	if err == nil || !strings.Contains(err.Error(), "no id set is pinned") {
		t.Fatalf("unknown handle: got %d, %v; want an error", v, err)
	}
}

// TestOwnersPagesByName: pages of one kind by name under an owners-only
// style filter (conditions under OR and NOT, tested through the cached id
// sets) hold exactly the entities a walk in uid order finds, before and
// after writes that change which entities match.
func TestOwnersPagesByName(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 400
	if err := storetest.Load(ctx, db, 0, n, n, 100); err != nil {
		t.Fatal(err)
	}
	kind := catalog.In("kind", "component")
	owners := catalog.Any(catalog.In("spec.owner", "group:default/team-0001", "group:default/team-0002"),
		catalog.Not(catalog.In("spec.lifecycle", "production")))
	filter := catalog.All(kind, owners)
	check := func(round string) {
		t.Helper()
		res, err := db.EntityList(ctx, store.EntityListParams{Filter: filter, Limit: n})
		if err != nil {
			t.Fatal(err)
		}
		type named struct{ name, uid string }
		var want []named
		for _, s := range res.Items {
			// Synthetic refs are kind:namespace/name.
			want = append(want, named{strings.ToLower(s.Ref[strings.LastIndex(s.Ref, "/")+1:]), s.UID})
		}
		slices.SortFunc(want, func(a, b named) int {
			if c := strings.Compare(a.name, b.name); c != 0 {
				return c
			}
			return strings.Compare(a.uid, b.uid)
		})
		var got []string
		var after *store.Position
		for page := 0; page <= n; page++ {
			res, err := db.EntityList(ctx, store.EntityListParams{Filter: filter, Order: &store.Order{Field: "metadata.name"},
				Limit: 9, After: after, CountTotal: page == 0})
			if err != nil {
				t.Fatal(err)
			}
			if page == 0 && res.Total != len(want) {
				t.Fatalf("%s: total %d, want %d", round, res.Total, len(want))
			}
			for _, s := range res.Items {
				got = append(got, s.UID)
			}
			if !res.HasMore || len(res.Items) == 0 {
				break
			}
			last := res.Items[len(res.Items)-1]
			after = &store.Position{Value: last.SortValue, UID: last.UID}
		}
		var wantUIDs []string
		for _, w := range want {
			wantUIDs = append(wantUIDs, w.uid)
		}
		if len(wantUIDs) == 0 || !slices.Equal(got, wantUIDs) {
			t.Fatalf("%s: pages by name %v, want %v", round, got, wantUIDs)
		}
	}
	check("loaded")
	check("steady")
	// Move entities into and out of the filter: other owners, other
	// lifecycles.
	if err := storetest.Load(ctx, db, 0, 40, n/3, 40); err != nil {
		t.Fatal(err)
	}
	check("after a write")
	check("steady after a write")
}
