package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/internal/web"
)

// The catalog the real-engine tests serve: owners and lifecycles chosen so
// that sorting by several keys differs from sorting by any one.
const engineCatalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-a }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: c1, title: Zeta }
spec: { type: service, lifecycle: production, owner: team-b }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: c2 }
spec: { type: service, lifecycle: experimental, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: c3, title: Alpha }
spec: { type: website, lifecycle: production, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: c4, title: Alpha }
spec: { type: library, lifecycle: experimental, owner: team-b }
`

// newEngineHandler serves the API over a real engine on SQLite that has
// read engineCatalog from a static file location, and returns the folder
// where tests may write more descriptor files.
func newEngineHandler(t testing.TB, p Params) (http.Handler, string) {
	t.Helper()
	e, dir := newTestEngine(t, engineCatalog)
	p.Catalog = e
	a := New(p)
	if a.raw == nil {
		t.Fatal("the engine does not serve final JSON")
	}
	return newServer(a), dir
}

// newTestEngine returns an engine on SQLite that has read catalogYAML from
// a static file location, and the folder holding it.
func newTestEngine(t testing.TB, catalogYAML string) (*engine.Engine, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(catalogYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "catalog.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rules := catalog.Rules{{Allow: []string{"Component", "Group", "Location"}}}
	e, err := engine.New(engine.Config{
		Store:                db,
		Rules:                &rules,
		StaticLocations:      []engine.StaticLocation{{Type: "file", Target: filepath.Join(dir, "catalog.yaml")}},
		AllowedLocationTypes: []string{"file"},
		ProcessingInterval:   -1,
		Logger:               slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.RefreshAll(ctx); err != nil {
		t.Fatal(err)
	}
	return e, dir
}

func TestEngineByNameAndUID(t *testing.T) {
	h, _ := newEngineHandler(t, Params{})
	for range 2 { // the second answer comes from the entity cache
		r := call(t, h, "GET", "/api/catalog/entities/by-name/Component/default/C3", "")
		if r.status != 200 || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("by name: got %d %q", r.status, r.header.Get("Content-Type"))
		}
		e := decode[catalog.Entity](t, r)
		if e.Metadata.Name != "c3" || e.Metadata.UID == "" || e.Metadata.Etag == "" {
			t.Fatalf("by name: got %+v", e.Metadata)
		}
		if !strings.Contains(string(r.body), `{"type":"ownedBy","targetRef":"group:default/team-a"}`) {
			t.Fatalf("by name: relations missing in %s", r.body)
		}
		u := call(t, h, "GET", "/api/catalog/entities/by-uid/"+e.Metadata.UID, "")
		if u.status != 200 || string(u.body) != string(r.body) {
			t.Fatalf("by uid: got %d %s, want the by-name body", u.status, u.body)
		}
	}
	r := call(t, h, "GET", "/api/catalog/entities/by-name/component/default/nope", "")
	if want := "No entity named 'nope' found, with kind 'component' in namespace 'default'"; r.status != 404 || decode[errorJSON](t, r).Error.Message != want {
		t.Fatalf("missing: got %d %s", r.status, r.body)
	}
}

func TestEngineEntitiesOrder(t *testing.T) {
	h, _ := newEngineHandler(t, Params{})
	tests := []struct {
		query string
		want  string
	}{
		{"order=asc:metadata.name", "c1,c2,c3,c4"},
		{"order=desc:metadata.name", "c4,c3,c2,c1"},
		// Entities without a title sort last, in both directions.
		{"order=asc:metadata.title,asc:metadata.name", "c3,c4,c1,c2"},
		{"order=asc:metadata.title,desc:metadata.name", "c4,c3,c1,c2"},
		{"order=desc:metadata.title,desc:metadata.name", "c1,c4,c3,c2"},
		{"order=asc:spec.lifecycle&order=desc:spec.owner&order=asc:metadata.name", "c4,c2,c1,c3"},
		{"order=asc:spec.lifecycle,desc:spec.owner,asc:metadata.name", "c4,c2,c1,c3"},
	}
	for _, tc := range tests {
		for _, paging := range []string{"", "&limit=3", "&limit=1&offset=1"} {
			t.Run(tc.query+paging, func(t *testing.T) {
				r := call(t, h, "GET", "/api/catalog/entities?filter=kind=component&"+tc.query+paging, "")
				if r.status != 200 {
					t.Fatalf("got %d %s", r.status, r.body)
				}
				want := tc.want
				switch paging {
				case "&limit=3":
					want = want[:len("c1,c2,c3")]
					if !strings.Contains(r.header.Get("Link"), `rel="next"`) {
						t.Errorf("no next link")
					}
				case "&limit=1&offset=1":
					want = strings.Split(want, ",")[1]
				}
				if got := names(decode[[]entityJSON](t, r)); got != want {
					t.Fatalf("got %s, want %s", got, want)
				}
			})
		}
	}
	r := call(t, h, "GET", "/api/catalog/entities?order=up:metadata.name", "")
	if r.status != 400 || !strings.Contains(decode[errorJSON](t, r).Error.Message, `order must be asc:<field> or desc:<field>, got "up:metadata.name"`) {
		t.Fatalf("bad order: got %d %s", r.status, r.body)
	}
	r = call(t, h, "GET", "/api/catalog/entities?order="+strings.Repeat("asc:kind,", 11), "")
	if r.status != 400 || !strings.Contains(string(r.body), "at most 10 order parameters") {
		t.Fatalf("too many orders: got %d %s", r.status, r.body)
	}
}

func TestEngineByQueryRaw(t *testing.T) {
	h, _ := newEngineHandler(t, Params{})
	r := call(t, h, "GET", "/api/catalog/entities/by-query?filter=kind=component&limit=2&orderField=metadata.name,desc", "")
	page := decode[struct {
		Items      []entityJSON `json:"items"`
		TotalItems int          `json:"totalItems"`
		PageInfo   struct {
			NextCursor string `json:"nextCursor"`
		} `json:"pageInfo"`
	}](t, r)
	if r.status != 200 || names(page.Items) != "c4,c3" || page.TotalItems != 4 || page.PageInfo.NextCursor == "" {
		t.Fatalf("first page: got %d %s", r.status, r.body)
	}
	r = call(t, h, "GET", "/api/catalog/entities/by-query?limit=2&cursor="+page.PageInfo.NextCursor, "")
	if got := names(decode[struct {
		Items []entityJSON `json:"items"`
	}](t, r).Items); got != "c2,c1" {
		t.Fatalf("second page: got %s", got)
	}
	r = call(t, h, "GET", "/api/catalog/entities/by-query?filter=kind=component&limit=1&fields=metadata.name", "")
	if want := `{"items":[{"metadata":{"name":"`; !strings.HasPrefix(string(r.body), want) {
		t.Fatalf("projected: got %s", r.body)
	}
}

// newServer serves a's routes like newHandler.
func newServer(a *API) http.Handler {
	return web.NewServer(web.Params{
		Logger:          slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Routes:          []func(web.Mux){a.Register},
		MaxRequestBytes: 1 << 20,
	}).Handler()
}

func TestEngineLocationsByQueryAndUpdate(t *testing.T) {
	h, dir := newEngineHandler(t, Params{})
	for _, name := range []string{"one", "two", "three"} {
		doc := "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc-" + name + " }\nspec: { type: service, lifecycle: production, owner: team-a }\n"
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]string{}
	for _, name := range []string{"one", "two"} {
		r := call(t, h, "POST", "/api/catalog/locations", `{"type":"file","target":"`+filepath.Join(dir, name+".yaml")+`"}`)
		if r.status != 201 {
			t.Fatalf("register %s: got %d %s", name, r.status, r.body)
		}
		ids[name] = decode[struct {
			Location struct{ ID string } `json:"location"`
		}](t, r).Location.ID
	}
	type locPage struct {
		Items []struct {
			ID, Type, Target, EntityRef string
		} `json:"items"`
		TotalItems int `json:"totalItems"`
		PageInfo   struct {
			NextCursor string `json:"nextCursor"`
		} `json:"pageInfo"`
	}
	query := func(body string) (int, locPage, string) {
		t.Helper()
		r := call(t, h, "POST", "/api/catalog/locations/by-query", body)
		var p locPage
		if r.status == 200 {
			p = decode[locPage](t, r)
		}
		return r.status, p, string(r.body)
	}
	status, page, body := query(`{}`)
	if status != 200 || page.TotalItems != 2 || len(page.Items) != 2 || page.Items[0].ID != ids["one"] {
		t.Fatalf("all: got %d %s", status, body)
	}
	if !strings.HasPrefix(page.Items[0].EntityRef, "location:default/generated-") {
		t.Fatalf("entityRef: got %q", page.Items[0].EntityRef)
	}
	status, page, body = query(`{"query":{"target":{"$hasPrefix":"` + filepath.Join(dir, "TW") + `"}}}`)
	if status != 200 || page.TotalItems != 1 || page.Items[0].ID != ids["two"] {
		t.Fatalf("prefix: got %d %s", status, body)
	}
	status, page, body = query(`{"query":{"$not":{"id":"` + ids["two"] + `"}}}`)
	if status != 200 || page.TotalItems != 1 || page.Items[0].ID != ids["one"] {
		t.Fatalf("not: got %d %s", status, body)
	}
	status, page, body = query(`{"limit":1,"query":{"type":"FILE"}}`)
	if status != 200 || page.TotalItems != 2 || len(page.Items) != 1 || page.PageInfo.NextCursor == "" {
		t.Fatalf("first page: got %d %s", status, body)
	}
	status, page, body = query(`{"limit":1,"cursor":"` + page.PageInfo.NextCursor + `"}`)
	if status != 200 || len(page.Items) != 1 || page.Items[0].ID != ids["two"] || page.PageInfo.NextCursor != "" {
		t.Fatalf("second page: got %d %s", status, body)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"query":{"owner":"x"}}`, `locations have no field \"owner\"; use id, type, target or entityRef`},
		{`{"limit":0}`, "limit must be between 1 and 1000, got 0"},
		{`{"cursor":"@@"}`, "cursor is not a cursor this server issued"},
		{`{"query":{"$not":1}}`, "query.$not: expected an object, found a number"},
	} {
		if status, _, body := query(bad.body); status != 400 || !strings.Contains(body, bad.want) {
			t.Errorf("%s: got %d %s, want 400 with %q", bad.body, status, body, bad.want)
		}
	}

	// PUT moves location one to three.yaml: svc-one goes, svc-three comes,
	// the id stays.
	if r := call(t, h, "GET", "/api/catalog/entities/by-name/component/default/svc-one", ""); r.status != 200 {
		t.Fatalf("svc-one before the update: got %d", r.status)
	}
	r := call(t, h, "PUT", "/api/catalog/locations/"+ids["one"], `{"type":"file","target":"`+filepath.Join(dir, "three.yaml")+`"}`)
	if r.status != 200 {
		t.Fatalf("update: got %d %s", r.status, r.body)
	}
	if got := decode[struct{ ID, Target string }](t, r); got.ID != ids["one"] || got.Target != filepath.Join(dir, "three.yaml") {
		t.Fatalf("update: got %+v", got)
	}
	if r := call(t, h, "GET", "/api/catalog/entities/by-name/component/default/svc-one", ""); r.status != 404 {
		t.Fatalf("svc-one after the update: got %d, want 404", r.status)
	}
	if r := call(t, h, "GET", "/api/catalog/entities/by-name/component/default/svc-three", ""); r.status != 200 {
		t.Fatalf("svc-three after the update: got %d, want 200", r.status)
	}
	if r := call(t, h, "GET", "/api/catalog/locations/"+ids["one"], ""); r.status != 200 || !strings.Contains(string(r.body), "three.yaml") {
		t.Fatalf("get after the update: got %d %s", r.status, r.body)
	}
	for _, bad := range []struct {
		id, body string
		status   int
		want     string
	}{
		{ids["one"], `{"type":"file","target":"` + filepath.Join(dir, "two.yaml") + `"}`, 409, "already exists"},
		{"no-such-id", `{"type":"file","target":"` + filepath.Join(dir, "one.yaml") + `"}`, 404, "Found no location with ID no-such-id"},
		{ids["one"], `{"type":"file"}`, 400, "target is required"},
		{ids["one"], `{"type":"url","target":"https://example.com/c.yaml"}`, 400, "Registered locations must be of an allowed type"},
	} {
		r := call(t, h, "PUT", "/api/catalog/locations/"+bad.id, bad.body)
		if r.status != bad.status || !strings.Contains(string(r.body), bad.want) {
			t.Errorf("PUT %s %s: got %d %s, want %d with %q", bad.id, bad.body, r.status, r.body, bad.status, bad.want)
		}
	}
	ro, _ := newEngineHandler(t, Params{Readonly: true})
	if r := call(t, ro, "PUT", "/api/catalog/locations/"+ids["one"], `{"type":"file","target":"x"}`); r.status != 403 {
		t.Errorf("readonly: got %d, want 403", r.status)
	}
	if r := call(t, h, "GET", "/api/catalog/locations/by-query", ""); r.status != 404 {
		t.Errorf("GET by-query: got %d, want 404", r.status)
	}
}

func TestEngineRegisterOnConflict(t *testing.T) {
	h, dir := newEngineHandler(t, Params{})
	file := filepath.Join(dir, "late.yaml")
	body := `{"type":"file","target":"` + file + `"}`
	write := func(name string) {
		t.Helper()
		doc := "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: " + name + " }\nspec: { type: service, lifecycle: production, owner: team-a }\n"
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("late-one")
	r := call(t, h, "POST", "/api/catalog/locations", body)
	if r.status != 201 {
		t.Fatalf("register: got %d %s", r.status, r.body)
	}
	id := decode[struct {
		Location struct{ ID string } `json:"location"`
	}](t, r).Location.ID
	write("late-two")
	if r := call(t, h, "POST", "/api/catalog/locations", body); r.status != 409 {
		t.Fatalf("again: got %d, want 409", r.status)
	}
	if r := call(t, h, "POST", "/api/catalog/locations?onConflict=reject", body); r.status != 409 {
		t.Fatalf("again, reject: got %d, want 409", r.status)
	}
	if r := call(t, h, "GET", "/api/catalog/entities/by-name/component/default/late-two", ""); r.status != 404 {
		t.Fatalf("late-two before the refresh: got %d, want 404", r.status)
	}
	r = call(t, h, "POST", "/api/catalog/locations?onConflict=refresh", body)
	if r.status != 201 || !strings.Contains(string(r.body), `"id":"`+id+`"`) {
		t.Fatalf("again, refresh: got %d %s", r.status, r.body)
	}
	if r := call(t, h, "GET", "/api/catalog/entities/by-name/component/default/late-two", ""); r.status != 200 {
		t.Fatalf("late-two after the refresh: got %d, want 200", r.status)
	}
	if r := call(t, h, "POST", "/api/catalog/locations?onConflict=merge", body); r.status != 400 || !strings.Contains(string(r.body), `onConflict must be reject or refresh, got \"merge\"`) {
		t.Fatalf("bad onConflict: got %d %s", r.status, r.body)
	}
}

func TestEngineEntitiesFieldsAndStream(t *testing.T) {
	h, _ := newEngineHandler(t, Params{Limits: Limits{StreamPageSize: 2}})
	for _, q := range []string{"", "&limit=10"} {
		r := call(t, h, "GET", "/api/catalog/entities?filter=kind=component&order=asc:metadata.name&fields=metadata.name"+q, "")
		if want := `[{"metadata":{"name":"c1"}},{"metadata":{"name":"c2"}},{"metadata":{"name":"c3"}},{"metadata":{"name":"c4"}}]`; r.status != 200 || strings.TrimSpace(string(r.body)) != want {
			t.Errorf("fields%s: got %d %s, want %s", q, r.status, r.body, want)
		}
	}
	// Streamed in pages of two, with and without several order keys.
	for _, order := range []string{"order=desc:metadata.name", "order=asc:metadata.title,desc:metadata.name"} {
		r := call(t, h, "GET", "/api/catalog/entities?filter=kind=component&"+order, "")
		items := decode[[]catalog.Entity](t, r)
		if len(items) != 4 || items[0].Metadata.Etag == "" || len(items[0].Relations) == 0 {
			t.Fatalf("%s: got %d items: %s", order, len(items), r.body)
		}
	}
	r := call(t, h, "GET", "/api/catalog/entities?filter=kind=component&order=asc:metadata.title,desc:metadata.name", "")
	if got := names(decode[[]entityJSON](t, r)); got != "c4,c3,c1,c2" {
		t.Fatalf("streamed with two keys: got %s, want c4,c3,c1,c2", got)
	}
}

// BenchmarkByName serves GET /entities/by-name over the real engine on
// SQLite (a catalog of 2,000 components), with the entity cache on (every
// request after the first is a hit) and off (a lookup, splice and write
// per request):
//
//	go test ./internal/web/api -run XX -bench ByName -benchmem
func BenchmarkByName(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cache int64
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			h := benchHandler(b, 2000, tc.cache)
			paths := make([]string, 2000)
			for i := range paths {
				paths[i] = fmt.Sprintf("/api/catalog/entities/by-name/component/default/svc-%d", i)
			}
			for _, p := range paths { // warm the cache
				if r := call(b, h, "GET", p, ""); r.status != 200 {
					b.Fatalf("%s: got %d", p, r.status)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest("GET", paths[i%len(paths)], nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("got %d", rec.Code)
				}
				i++
			}
		})
	}
}

// benchHandler is newEngineHandler over n generated components, each with
// an owner and two dependencies, with the given entity cache budget.
func benchHandler(b *testing.B, n int, cacheBytes int64) http.Handler {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: { name: team-a }\nspec: { type: team, children: [] }\n")
	for i := range n {
		fmt.Fprintf(&sb, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: svc-%d, description: A service of the benchmark, tags: [go, backend] }\n"+
			"spec: { type: service, lifecycle: production, owner: team-a, dependsOn: [component:svc-%d, component:svc-%d] }\n", i, (i+1)%n, (i+7)%n)
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "catalog.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	rules := catalog.Rules{{Allow: []string{"Component", "Group", "Location"}}}
	e, err := engine.New(engine.Config{
		Store: db, Rules: &rules, ProcessingInterval: -1, Logger: slog.New(slog.DiscardHandler),
		StaticLocations:  []engine.StaticLocation{{Type: "file", Target: filepath.Join(dir, "catalog.yaml")}},
		EntityCacheBytes: cacheBytes, ReadCacheMaxAge: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if err := e.RefreshAll(ctx); err != nil {
		b.Fatal(err)
	}
	return newServer(New(Params{Catalog: e}))
}
