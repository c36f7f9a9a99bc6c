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
