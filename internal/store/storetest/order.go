package storetest

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// testThenBy checks sorting by several keys: each key's missing values
// last, in either direction, ties broken by the next key and then by uid.
func testThenBy(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	tests := []struct {
		name   string
		order  store.Order
		thenBy []store.Order
		want   []string
	}{
		{"kind asc, name desc", store.Order{Field: "kind"}, []store.Order{{Field: "metadata.name", Desc: true}},
			[]string{u4, u3, u2, u1, u8, u5, u7, u6}},
		{"missing first key last, tied by the second", store.Order{Field: "spec.type"}, []store.Order{{Field: "Metadata.Name", Desc: true}},
			[]string{u4, u2, u1, u5, u3, u7, u8, u6}},
		{"desc keeps missing last", store.Order{Field: "metadata.title", Desc: true}, []store.Order{{Field: "metadata.name"}},
			[]string{u6, u7, u8, u4, u1, u2, u5, u3}},
		{"uid as a later key", store.Order{Field: "spec.lifecycle", Desc: true}, []store.Order{{Field: "metadata.uid", Desc: true}},
			[]string{u1, u8, u7, u6, u5, u4, u3, u2}},
		{"three keys", store.Order{Field: "kind"}, []store.Order{{Field: "spec.type", Desc: true}, {Field: "metadata.name"}},
			[]string{u4, u3, u1, u2, u8, u5, u7, u6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := list(t, d, store.EntityListParams{Order: &tt.order, ThenBy: tt.thenBy})
			eq(t, "order", refsOf(r.Items), tt.want)
			if r.HasMore {
				t.Errorf("HasMore: got true, want false without a limit")
			}
			r = list(t, d, store.EntityListParams{Order: &tt.order, ThenBy: tt.thenBy, Offset: 2, Limit: 3, CountTotal: true})
			eq(t, "page", refsOf(r.Items), tt.want[2:5])
			if !r.HasMore || r.Total != 8 {
				t.Errorf("page: HasMore %v, Total %d; want true, 8", r.HasMore, r.Total)
			}
		})
	}
	t.Run("filtered", func(t *testing.T) {
		r := list(t, d, store.EntityListParams{Filter: catalog.In("kind", "component"),
			Order: &store.Order{Field: "spec.type", Desc: true}, ThenBy: []store.Order{{Field: "metadata.name"}}})
		eq(t, "order", refsOf(r.Items), []string{u3, u1, u2, u8})
	})
	t.Run("no cursor", func(t *testing.T) {
		_, err := d.EntityList(context.Background(), store.EntityListParams{Order: &store.Order{Field: "kind"},
			ThenBy: []store.Order{{Field: "metadata.name"}}, After: &store.Position{UID: "u1"}})
		wantKind(t, err, fault.Invalid)
	})
}

// testKindByName checks that a one-kind list ordered by name (the walk of
// entities_kind_name) pages exactly like the general walk of the search
// index, forwards and backwards, in both directions.
func testKindByName(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	upsert(t, d, newEnt("Component", "Svc-A").withUID("u9").withNS("other"))
	fast := catalog.In("kind", "Component")
	slow := catalog.In("kind", "component", "component") // two values: the general walk
	for _, desc := range []bool{false, true} {
		order := &store.Order{Field: "metadata.name", Desc: desc}
		all := refsOf(list(t, d, store.EntityListParams{Filter: slow, Order: order}).Items)
		eq(t, "fast whole list", refsOf(list(t, d, store.EntityListParams{Filter: fast, Order: order}).Items), all)
		if len(all) != 5 {
			t.Fatalf("got %d components, want 5", len(all))
		}
		// Forwards two at a time, then backwards from the end.
		var got []string
		var after *store.Position
		for {
			r := list(t, d, store.EntityListParams{Filter: fast, Order: order, After: after, Limit: 2})
			got = append(got, refsOf(r.Items)...)
			if !r.HasMore {
				break
			}
			after = position(r.Items[len(r.Items)-1])
		}
		eq(t, "forwards", got, all)
		last := list(t, d, store.EntityListParams{Filter: fast, Order: order, Offset: 4, Limit: 1})
		eq(t, "offset", refsOf(last.Items), all[4:])
		r := list(t, d, store.EntityListParams{Filter: fast, Order: order, Before: position(last.Items[0]), Limit: 3})
		eq(t, "backwards", refsOf(r.Items), all[1:4])
		r = list(t, d, store.EntityListParams{Filter: catalog.All(fast, catalog.In("spec.type", "service")), Order: order, CountTotal: true})
		if r.Total != 2 {
			t.Errorf("filtered total: got %d, want 2", r.Total)
		}
	}
}
