package api

import (
	"strings"
	"testing"
)

// TestEngineByRefsRaw checks that by-refs over the real engine, answered
// from final JSON (and the entity cache on the second round), is byte for
// byte the by-name answers in the refs' order with null for each missing,
// invalid-for-the-filter or unknown ref, and that fields are projected.
func TestEngineByRefsRaw(t *testing.T) {
	h, _ := newEngineHandler(t, Params{})
	byName := func(name string) string {
		t.Helper()
		r := call(t, h, "GET", "/api/catalog/entities/by-name/component/default/"+name, "")
		if r.status != 200 {
			t.Fatalf("by name %s: got %d", name, r.status)
		}
		return strings.TrimSuffix(string(r.body), "\n")
	}
	const refs = `["component:default/c3","component:default/nope","Component:default/C1","component:default/c3","group:default/team-a"]`
	tests := []struct {
		name, query, body, want string
	}{
		{"whole", "", `{"entityRefs":` + refs + `}`,
			`{"items":[` + byName("c3") + `,null,` + byName("c1") + `,` + byName("c3") + `,` + "GROUP" + `]}`},
		{"fields", "", `{"entityRefs":` + refs + `,"fields":["kind","metadata.title","metadata.name"]}`,
			`{"items":[{"kind":"Component","metadata":{"name":"c3","title":"Alpha"}},null,{"kind":"Component","metadata":{"name":"c1","title":"Zeta"}},{"kind":"Component","metadata":{"name":"c3","title":"Alpha"}},{"kind":"Group","metadata":{"name":"team-a"}}]}`},
		{"filter", "?filter=kind=component,spec.lifecycle=production", `{"entityRefs":` + refs + `,"fields":["metadata.name"]}`,
			`{"items":[{"metadata":{"name":"c3"}},null,{"metadata":{"name":"c1"}},{"metadata":{"name":"c3"}},null]}`},
		{"none", "", `{"entityRefs":[]}`, `{"items":[]}`},
	}
	group := call(t, h, "GET", "/api/catalog/entities/by-name/group/default/team-a", "")
	for round := range 2 {
		for _, tc := range tests {
			r := call(t, h, "POST", "/api/catalog/entities/by-refs"+tc.query, tc.body)
			want := strings.Replace(tc.want, "GROUP", strings.TrimSuffix(string(group.body), "\n"), 1) + "\n"
			if r.status != 200 || string(r.body) != want {
				t.Fatalf("round %d, %s: got %d\n%s\nwant\n%s", round, tc.name, r.status, r.body, want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Fatalf("round %d, %s: content type %q", round, tc.name, ct)
			}
		}
	}
	r := call(t, h, "POST", "/api/catalog/entities/by-refs", `{"entityRefs":["component:default/c1"],"fields":["metadata.tags[0]"]}`)
	if r.status != 400 {
		t.Fatalf("array fields: got %d %s, want 400", r.status, r.body)
	}
}
