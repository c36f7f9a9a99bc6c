package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// Refs of the query fixture, named by their UIDs u1…u8 (the default order).
const (
	u1 = "component:default/svc-a"
	u2 = "component:default/svc-b"
	u3 = "component:default/web"
	u4 = "api:default/pay-api"
	u5 = "group:default/team-a"
	u6 = "user:default/jöns"
	u7 = "resource:default/weird"
	u8 = "component:other/lib"
)

var fixtureAll = []string{u1, u2, u3, u4, u5, u6, u7, u8}

func queryFixture(t testing.TB, d store.Driver) {
	t.Helper()
	upsert(t, d,
		newEnt("Component", "svc-a").withUID("u1").set("spec.type", "service").set("spec.lifecycle", "production").
			set("metadata.tags", "java", "Go").rel("ownedBy", "group:default/team-a", "ownerOf"),
		newEnt("Component", "svc-b").withUID("u2").set("spec.type", "Service").set("metadata.tags", "python").
			rel("ownedBy", "group:default/team-b", "ownerOf").rel("dependsOn", u1, "dependencyOf"),
		newEnt("Component", "web").withUID("u3").set("spec.type", "website").rel("ownedBy", "group:default/team-a", "ownerOf"),
		newEnt("API", "pay-api").withUID("u4").set("spec.type", "openapi").set("metadata.annotations.backstage.io/orphan", "true"),
		newEnt("Group", "team-a").withUID("u5").set("spec.type", "team"),
		newEnt("User", "Jöns").withUID("u6").set("metadata.title", "Ünïcode Ölsen"),
		newEnt("Resource", "weird").withUID("u7").set("spec.type", "x' OR '1'='1").set("metadata.title", `100%_done\`),
		newEnt("Component", "lib").withUID("u8").withNS("Other"),
	)
}

func testFilters(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	tests := []struct {
		name   string
		filter *catalog.Filter
		want   []string
	}{
		{"nil", nil, fixtureAll},
		{"kind", catalog.In("kind", "component"), []string{u1, u2, u3, u8}},
		{"kind upper-case value", catalog.In("kind", "COMPONENT"), []string{u1, u2, u3, u8}},
		{"kind any of", catalog.In("kind", "component", "api"), []string{u1, u2, u3, u4, u8}},
		{"case-insensitive value", catalog.In("spec.type", "service"), []string{u1, u2}},
		{"empty in", catalog.In("kind"), []string{}},
		{"exists", catalog.Exists("spec.type"), []string{u1, u2, u3, u4, u5, u7}},
		{"exists missing key", catalog.Exists("spec.nothing"), []string{}},
		{"prefix", catalog.Prefix("spec.type", "serv"), []string{u1, u2}},
		{"prefix whole", catalog.Prefix("spec.type", "website"), []string{u3}},
		{"prefix percent literal", catalog.Prefix("metadata.title", "100%"), []string{u7}},
		{"prefix underscore literal", catalog.Prefix("metadata.title", "100_"), []string{}},
		{"prefix percent no wildcard", catalog.Prefix("metadata.title", "1%"), []string{}},
		{"prefix unicode", catalog.Prefix("metadata.title", "ünï"), []string{u6}},
		{"array item", catalog.In("metadata.tags", "go"), []string{u1}},
		{"key with slash", catalog.In("metadata.annotations.backstage.io/orphan", "true"), []string{u4}},
		{"namespace", catalog.In("metadata.namespace", "other"), []string{u8}},
		{"relation", catalog.In("relations.ownedby", "group:default/team-a"), []string{u1, u3}},
		{"relation any of", catalog.In("relations.ownedby", "group:default/team-a", "group:default/team-b"), []string{u1, u2, u3}},
		{"relation exists", catalog.Exists("relations.ownedby"), []string{u1, u2, u3}},
		{"relation prefix", catalog.Prefix("relations.ownedby", "group:default/team-"), []string{u1, u2, u3}},
		{"inverse relation", catalog.In("relations.ownerof", u1), []string{u5}},
		{"inverse relation from other entity", catalog.Exists("relations.dependencyof"), []string{u1}},
		{"relation empty in", catalog.In("relations.ownedby"), []string{}},
		{"any", catalog.Any(catalog.In("kind", "api"), catalog.In("spec.type", "website")), []string{u3, u4}},
		{"any empty", catalog.Any(), []string{}},
		{"all empty", catalog.All(), fixtureAll},
		{"all", catalog.All(catalog.In("kind", "component"), catalog.In("relations.ownedby", "group:default/team-a")), []string{u1, u3}},
		{"not", catalog.Not(catalog.In("kind", "component")), []string{u4, u5, u6, u7}},
		{"not exists", catalog.Not(catalog.Exists("spec.type")), []string{u6, u8}},
		{"all with not", catalog.All(catalog.In("kind", "component"), catalog.Not(catalog.In("spec.type", "service"))), []string{u3, u8}},
		{"or of ands", catalog.Any(
			catalog.All(catalog.In("kind", "component"), catalog.In("spec.type", "website")),
			catalog.All(catalog.In("kind", "api"))), []string{u3, u4}},
		{"sql metacharacters match literally", catalog.In("spec.type", "x' or '1'='1"), []string{u7}},
		{"sql injection attempt", catalog.In("spec.type", "' or 1=1 --"), []string{}},
		{"sql injection in key", catalog.In("kind' OR 1=1 --", "component"), []string{}},
		{"unicode name", catalog.In("metadata.name", "jöns"), []string{u6}},
		{"unicode value", catalog.In("metadata.title", "ünïcode ölsen"), []string{u6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := list(t, d, store.EntityListParams{Filter: tt.filter})
			eq(t, "refs", refsOf(r.Items), tt.want)
			// The same filter restricts by-refs reads and counts.
			byRefs, err := d.EntityGetByRefs(context.Background(), fixtureAll, tt.filter)
			if err != nil {
				t.Fatalf("EntityGetByRefs: %v", err)
			}
			var got []string
			for _, s := range byRefs {
				if s != nil {
					got = append(got, s.Ref)
				}
			}
			eq(t, "by refs", sorted(got), sorted(tt.want))
		})
	}
}

func testFilterErrors(t *testing.T, d store.Driver) {
	deep := catalog.In("kind", "component")
	for range 200 {
		deep = catalog.Not(deep)
	}
	tests := []struct {
		name   string
		filter *catalog.Filter
	}{
		{"not with two children", &catalog.Filter{Op: catalog.OpNot, Children: []*catalog.Filter{catalog.Exists("kind"), catalog.Exists("kind")}}},
		{"empty key", catalog.In("", "x")},
		{"prefix without value", &catalog.Filter{Op: catalog.OpMatch, Key: "kind", Match: catalog.MatchPrefix}},
		{"nil child", catalog.All(nil)},
		{"unknown op", &catalog.Filter{Op: catalog.FilterOp(99)}},
		{"too deep", deep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.EntityList(context.Background(), store.EntityListParams{Filter: tt.filter})
			wantKind(t, err, fault.Invalid)
			_, err = d.EntityFacets(context.Background(), store.EntityFacetsParams{Facets: []string{"kind"}, Filter: tt.filter})
			wantKind(t, err, fault.Invalid)
		})
	}
	_, err := d.EntityList(context.Background(), store.EntityListParams{After: &store.Position{UID: "a"}, Before: &store.Position{UID: "b"}})
	wantKind(t, err, fault.Invalid)
	_, err = d.EntityList(context.Background(), store.EntityListParams{Limit: -1})
	wantKind(t, err, fault.Invalid)
}

func testOrder(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	tests := []struct {
		name   string
		order  *store.Order
		want   []string
		values []string // sort values, "<nil>" when missing
	}{
		{"default", nil, fixtureAll, []string{"<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>"}},
		{"field asc, missing last", &store.Order{Field: "spec.type"}, []string{u4, u1, u2, u5, u3, u7, u6, u8},
			[]string{`"openapi"`, `"service"`, `"service"`, `"team"`, `"website"`, `"x' or '1'='1"`, "<nil>", "<nil>"}},
		{"field desc, missing last", &store.Order{Field: "spec.type", Desc: true}, []string{u7, u3, u5, u2, u1, u4, u8, u6},
			[]string{`"x' or '1'='1"`, `"website"`, `"team"`, `"service"`, `"service"`, `"openapi"`, "<nil>", "<nil>"}},
		{"field given in mixed case", &store.Order{Field: "Spec.Type"}, []string{u4, u1, u2, u5, u3, u7, u6, u8}, nil},
		{"multi-valued field sorts by smallest", &store.Order{Field: "metadata.tags"}, []string{u1, u2, u3, u4, u5, u6, u7, u8},
			[]string{`"go"`, `"python"`, "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>"}},
		{"name", &store.Order{Field: "metadata.name"}, []string{u6, u8, u4, u1, u2, u5, u3, u7}, nil},
		{"uid desc", &store.Order{Field: "metadata.uid", Desc: true}, []string{u8, u7, u6, u5, u4, u3, u2, u1},
			[]string{`"u8"`, `"u7"`, `"u6"`, `"u5"`, `"u4"`, `"u3"`, `"u2"`, `"u1"`}},
		{"field nobody has", &store.Order{Field: "spec.nothing", Desc: true}, []string{u8, u7, u6, u5, u4, u3, u2, u1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := list(t, d, store.EntityListParams{Order: tt.order})
			eq(t, "order", refsOf(r.Items), tt.want)
			if tt.values != nil {
				var got []string
				for _, it := range r.Items {
					got = append(got, str(it.SortValue))
				}
				eq(t, "sort values", got, tt.values)
			}
			if r.HasMore {
				t.Errorf("HasMore: got true, want false without a limit")
			}
		})
	}
}

func position(s *catalog.Stored) *store.Position {
	return &store.Position{Value: s.SortValue, UID: s.UID}
}

func testKeysetPaging(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	orders := []*store.Order{nil, {Field: "spec.type"}, {Field: "spec.type", Desc: true}, {Field: "metadata.tags", Desc: true}, {Field: "metadata.uid", Desc: true}}
	filters := []*catalog.Filter{nil, catalog.Not(catalog.In("kind", "api"))}
	for _, order := range orders {
		for fi, filter := range filters {
			for _, limit := range []int{1, 2, 3, 10} {
				name := fmt.Sprintf("order=%v/filter=%d/limit=%d", order, fi, limit)
				t.Run(name, func(t *testing.T) {
					full := refsOf(list(t, d, store.EntityListParams{Order: order, Filter: filter}).Items)
					// Forward.
					var got []string
					p := store.EntityListParams{Order: order, Filter: filter, Limit: limit}
					for pages := 0; ; pages++ {
						if pages > 20 {
							t.Fatalf("forward paging does not end")
						}
						r := list(t, d, p)
						got = append(got, refsOf(r.Items)...)
						if wantMore := len(got) < len(full); r.HasMore != wantMore {
							t.Fatalf("forward page %d HasMore: got %v, want %v", pages, r.HasMore, wantMore)
						}
						if !r.HasMore {
							break
						}
						p.After = position(r.Items[len(r.Items)-1])
					}
					eq(t, "forward", got, full)
					// Backward from the last item.
					all := list(t, d, store.EntityListParams{Order: order, Filter: filter}).Items
					got = nil
					p = store.EntityListParams{Order: order, Filter: filter, Limit: limit, Before: position(all[len(all)-1])}
					for pages := 0; ; pages++ {
						if pages > 20 {
							t.Fatalf("backward paging does not end")
						}
						r := list(t, d, p)
						got = append(refsOf(r.Items), got...)
						if wantMore := len(got) < len(full)-1; r.HasMore != wantMore {
							t.Fatalf("backward page %d HasMore: got %v, want %v", pages, r.HasMore, wantMore)
						}
						if !r.HasMore {
							break
						}
						p.Before = position(r.Items[0])
					}
					eq(t, "backward", got, full[:len(full)-1])
				})
			}
		}
	}
}

func testOffset(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	for _, order := range []*store.Order{nil, {Field: "spec.type"}, {Field: "metadata.tags", Desc: true}} {
		full := refsOf(list(t, d, store.EntityListParams{Order: order}).Items)
		for off := 0; off <= len(full)+1; off++ {
			for _, limit := range []int{0, 1, 3} {
				r := list(t, d, store.EntityListParams{Order: order, Offset: off, Limit: limit})
				end := len(full)
				if limit > 0 {
					end = min(off+limit, len(full))
				}
				want := []string{}
				if off < len(full) {
					want = full[off:end]
				}
				eq(t, fmt.Sprintf("order %v offset %d limit %d", order, off, limit), refsOf(r.Items), want)
				if wantMore := limit > 0 && end < len(full); r.HasMore != wantMore {
					t.Errorf("order %v offset %d limit %d HasMore: got %v, want %v", order, off, limit, r.HasMore, wantMore)
				}
			}
		}
	}
	_, err := d.EntityList(context.Background(), store.EntityListParams{Offset: 1, After: &store.Position{UID: "u1"}})
	wantKind(t, err, fault.Invalid)
}

func testTotal(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	tests := []struct {
		name string
		p    store.EntityListParams
		want int
	}{
		{"all", store.EntityListParams{Limit: 1, CountTotal: true}, 8},
		{"filtered", store.EntityListParams{Filter: catalog.In("kind", "component"), Limit: 2, CountTotal: true}, 4},
		{"with cursor", store.EntityListParams{Filter: catalog.In("kind", "component"), After: &store.Position{UID: "u2"}, Limit: 1, CountTotal: true}, 4},
		{"full text", store.EntityListParams{FullText: &store.FullText{Term: "serv", Fields: []string{"spec.type"}}, CountTotal: true}, 2},
		{"not asked", store.EntityListParams{Limit: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(t, d, tt.p).Total; got != tt.want {
				t.Errorf("Total: got %d, want %d", got, tt.want)
			}
		})
	}
}

func testFullText(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	tests := []struct {
		name  string
		ft    store.FullText
		order *store.Order
		want  []string
	}{
		{"field", store.FullText{Term: "SERV", Fields: []string{"spec.type"}}, nil, []string{u1, u2}},
		{"field mixed case", store.FullText{Term: "erv", Fields: []string{"Spec.Type"}}, nil, []string{u1, u2}},
		{"middle of value", store.FullText{Term: "bsit", Fields: []string{"spec.type"}}, nil, []string{u3}},
		{"percent is literal", store.FullText{Term: "0%", Fields: []string{"metadata.title"}}, nil, []string{u7}},
		{"underscore is literal", store.FullText{Term: "%_d", Fields: []string{"metadata.title"}}, nil, []string{u7}},
		{"backslash is literal", store.FullText{Term: `done\`, Fields: []string{"metadata.title"}}, nil, []string{u7}},
		{"no match", store.FullText{Term: "zzz", Fields: []string{"spec.type", "metadata.name"}}, nil, []string{}},
		{"several fields", store.FullText{Term: "a", Fields: []string{"metadata.name", "spec.type"}}, nil, []string{u1, u4, u5}},
		{"unicode", store.FullText{Term: "ÖLSEN", Fields: []string{"metadata.title"}}, nil, []string{u6}},
		{"order field when no fields", store.FullText{Term: "web"}, &store.Order{Field: "spec.type"}, []string{u3}},
		{"uid when no fields and no order", store.FullText{Term: "u7"}, nil, []string{u7}},
		{"relation field", store.FullText{Term: "team-b", Fields: []string{"relations.ownedBy"}}, nil, []string{u2}},
		{"empty term matches all", store.FullText{Term: "", Fields: []string{"spec.type"}}, nil, fixtureAll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := tt.ft
			r := list(t, d, store.EntityListParams{FullText: &ft, Order: tt.order})
			eq(t, "refs", refsOf(r.Items), tt.want)
		})
	}
}

// testCountOnly checks that a count alone gives the Total of the full list
// and reads no page, whatever Limit and Offset say.
func testCountOnly(t *testing.T, d store.Driver) {
	queryFixture(t, d)
	tests := []struct {
		name string
		p    store.EntityListParams
	}{
		{"all", store.EntityListParams{}},
		{"kind", store.EntityListParams{Filter: catalog.In("kind", "COMPONENT")}},
		{"kind and field", store.EntityListParams{Filter: catalog.All(catalog.In("kind", "component"), catalog.In("spec.type", "service"))}},
		{"relation", store.EntityListParams{Filter: catalog.In("relations.ownedby", "group:default/team-a")}},
		{"any", store.EntityListParams{Filter: catalog.Any(catalog.In("kind", "api"), catalog.In("spec.type", "website"))}},
		{"none", store.EntityListParams{Filter: catalog.In("kind", "nothing")}},
		{"full text", store.EntityListParams{FullText: &store.FullText{Term: "serv", Fields: []string{"spec.type"}}}},
		{"limit and offset", store.EntityListParams{Filter: catalog.In("kind", "component"), Limit: 1, Offset: 1}},
		{"ordered", store.EntityListParams{Filter: catalog.In("kind", "component"), Order: &store.Order{Field: "metadata.name"}, Limit: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full := tt.p
			full.Limit, full.Offset = 0, 0
			want := len(list(t, d, full).Items)
			p := tt.p
			p.CountOnly = true
			got := list(t, d, p)
			if got.Total != want {
				t.Errorf("Total: got %d, want %d", got.Total, want)
			}
			if len(got.Items) != 0 || got.HasMore {
				t.Errorf("page: got %d items, HasMore %v, want none", len(got.Items), got.HasMore)
			}
		})
	}
}
