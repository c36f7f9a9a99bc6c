package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/web"
)

func newHandler(t testing.TB, f *fakeCatalog, p Params) http.Handler {
	t.Helper()
	p.Catalog = f
	a := New(p)
	return web.NewServer(web.Params{
		Logger:          slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Routes:          []func(web.Mux){a.Register},
		MaxRequestBytes: 1 << 20,
	}).Handler()
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func call(t testing.TB, h http.Handler, method, target, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
	return v
}

type entityJSON struct {
	Kind     string         `json:"kind"`
	Metadata map[string]any `json:"metadata"`
	Spec     map[string]any `json:"spec"`
}

type errorJSON struct {
	Error struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
	Response struct {
		StatusCode int `json:"statusCode"`
	} `json:"response"`
}

func names(items []entityJSON) string {
	var s []string
	for _, e := range items {
		if e.Metadata == nil {
			s = append(s, "null")
			continue
		}
		s = append(s, e.Metadata["name"].(string))
	}
	return strings.Join(s, ",")
}

func TestGetEntitiesStreamsEverything(t *testing.T) {
	f := newFake(23)
	h := newHandler(t, f, Params{Limits: Limits{StreamPageSize: 5}})
	r := call(t, h, "GET", "/api/catalog/entities", "")
	if r.status != 200 {
		t.Fatalf("status: got %v, want 200 (%s)", r.status, r.body)
	}
	items := decode[[]entityJSON](t, r)
	if got, want := len(items), 23; got != want {
		t.Errorf("items: got %v, want %v", got, want)
	}
	if got, want := len(f.calls), 5; got != want {
		t.Errorf("engine calls: got %v, want %v (pages of 5)", got, want)
	}
	for _, c := range f.calls {
		if c.Limit != 5 {
			t.Errorf("page limit: got %v, want 5", c.Limit)
		}
	}
}

func TestGetEntitiesStreamFiltered(t *testing.T) {
	h := newHandler(t, newFake(9), Params{Limits: Limits{StreamPageSize: 2}})
	items := decode[[]entityJSON](t, call(t, h, "GET", "/api/catalog/entities?filter=kind=api&fields=metadata.name", ""))
	if got, want := names(items), "a,d,g"; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if items[0].Kind != "" {
		t.Errorf("projection kept kind: %+v", items[0])
	}
	empty := call(t, h, "GET", "/api/catalog/entities?filter=kind=nothing", "")
	if got := strings.TrimSpace(string(empty.body)); got != "[]" {
		t.Errorf("empty: got %v, want []", got)
	}
}

func TestGetEntitiesPaged(t *testing.T) {
	h := newHandler(t, newFake(5), Params{})
	r := call(t, h, "GET", "/api/catalog/entities?limit=2&order=asc:metadata.name", "")
	if got, want := names(decode[[]entityJSON](t, r)), "a,b"; got != want {
		t.Errorf("page 1: got %v, want %v", got, want)
	}
	link := r.header.Get("Link")
	if !strings.HasPrefix(link, "</api/catalog/entities?") || !strings.HasSuffix(link, `>; rel="next"`) {
		t.Fatalf("link: got %q", link)
	}
	next := strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	r = call(t, h, "GET", next, "")
	if got, want := names(decode[[]entityJSON](t, r)), "c,d"; got != want {
		t.Errorf("page 2: got %v, want %v", got, want)
	}
	next = strings.TrimSuffix(strings.TrimPrefix(r.header.Get("Link"), "<"), `>; rel="next"`)
	r = call(t, h, "GET", next, "")
	if got, want := names(decode[[]entityJSON](t, r)), "e"; got != want {
		t.Errorf("page 3: got %v, want %v", got, want)
	}
	if l := r.header.Get("Link"); l != "" {
		t.Errorf("last page link: got %q, want none", l)
	}
	r = call(t, h, "GET", "/api/catalog/entities?offset=3&order=desc:metadata.name", "")
	if got, want := names(decode[[]entityJSON](t, r)), "b,a"; got != want {
		t.Errorf("offset desc: got %v, want %v", got, want)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHandler(t, newFake(3), Params{Limits: Limits{MaxPageSize: 100, MaxRefs: 2}})
	tests := []struct {
		name, method, target, body string
		status                     int
		message                    string
	}{
		{"negative offset", "GET", "/api/catalog/entities?offset=-1", "", 400, "offset must be"},
		{"zero limit", "GET", "/api/catalog/entities?limit=0", "", 400, "limit must be"},
		{"empty after", "GET", "/api/catalog/entities?after=", "", 400, "after must not be empty"},
		{"bad after", "GET", "/api/catalog/entities?after=zzz", "", 400, "after is not a cursor"},
		{"bad order", "GET", "/api/catalog/entities?order=up:name", "", 400, "order must be"},
		{"bad filter", "GET", "/api/catalog/entities?filter==x", "", 400, ""},
		{"limit too big", "GET", "/api/catalog/entities/by-query?limit=101", "", 400, "limit must not exceed 100"},
		{"bad cursor", "GET", "/api/catalog/entities/by-query?cursor=bm9wZQ", "", 400, "cursor is not a cursor"},
		{"bad orderField", "GET", "/api/catalog/entities/by-query?orderField=metadata.name,sideways", "", 400, "must be asc or desc"},
		{"bad totalItems", "GET", "/api/catalog/entities/by-query?totalItems=maybe", "", 400, "totalItems must be"},
		{"post bad json", "POST", "/api/catalog/entities/by-query", "{", 400, "not valid JSON"},
		{"post wrong type", "POST", "/api/catalog/entities/by-query", `{"limit":"ten"}`, 400, "limit must be a number"},
		{"post limit too big", "POST", "/api/catalog/entities/by-query", `{"limit":1000}`, 400, "limit must not exceed"},
		{"refs missing", "POST", "/api/catalog/entities/by-refs", `{}`, 400, "entityRefs is required"},
		{"refs over max", "POST", "/api/catalog/entities/by-refs", `{"entityRefs":["a:b","a:c","a:d"]}`, 400, "at most 2"},
		{"refs invalid", "POST", "/api/catalog/entities/by-refs", `{"entityRefs":["nokind"]}`, 400, "entityRefs[0]"},
		{"facets missing", "GET", "/api/catalog/entity-facets", "", 400, "Missing facet parameter"},
		{"uid missing", "GET", "/api/catalog/entities/by-uid/nope", "", 404, "No entity with uid nope"},
		{"name missing", "GET", "/api/catalog/entities/by-name/component/default/nope", "", 404, "No entity named 'nope' found, with kind 'component' in namespace 'default'"},
		{"ancestry missing", "GET", "/api/catalog/entities/by-name/component/default/nope/ancestry", "", 404, "No entity named 'nope'"},
		{"refresh missing", "POST", "/api/catalog/refresh", `{}`, 400, "entityRef is required"},
		{"refresh unknown", "POST", "/api/catalog/refresh", `{"entityRef":"component:default/nope"}`, 404, ""},
		{"validate file", "POST", "/api/catalog/validate-entity", `{"location":"file:/x","entity":{}}`, 400, "url: location"},
		{"validate no entity", "POST", "/api/catalog/validate-entity", `{"location":"url:https://x.example/c.yaml"}`, 400, "entity is required"},
		{"location no type", "POST", "/api/catalog/locations", `{"target":"x"}`, 400, "type is required"},
		{"location bad url", "POST", "/api/catalog/locations", `{"type":"url","target":"not a url"}`, 400, "The given location.target is not a URL"},
		{"location bad dryRun", "POST", "/api/catalog/locations?dryRun=yes", `{"type":"url","target":"https://x"}`, 400, "dryRun must be"},
		{"location unknown", "GET", "/api/catalog/locations/nope", "", 404, "Found no location with ID nope"},
		{"location by entity", "GET", "/api/catalog/locations/by-entity/component/default/nope", "", 404, "No location found"},
		{"analyze no location", "POST", "/api/catalog/analyze-location", `{}`, 400, "location is required"},
		{"analyze bad url", "POST", "/api/catalog/analyze-location", `{"location":{"type":"url","target":"x"}}`, 400, "not a URL"},
		{"unknown route", "GET", "/api/catalog/nothing", "", 404, "no route"},
		{"unsupported method", "PATCH", "/api/catalog/entities", "", 404, "no route for PATCH /api/catalog/entities"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, h, tt.method, tt.target, tt.body)
			if r.status != tt.status {
				t.Fatalf("status: got %v, want %v (%s)", r.status, tt.status, r.body)
			}
			e := decode[errorJSON](t, r)
			if e.Response.StatusCode != tt.status || e.Error.Name == "" {
				t.Errorf("error body: got %s", r.body)
			}
			if !strings.Contains(e.Error.Message, tt.message) {
				t.Errorf("message: got %q, want it to contain %q", e.Error.Message, tt.message)
			}
		})
	}
}

type queryJSON struct {
	Items      []entityJSON `json:"items"`
	TotalItems *int         `json:"totalItems"`
	PageInfo   struct {
		NextCursor string `json:"nextCursor"`
		PrevCursor string `json:"prevCursor"`
	} `json:"pageInfo"`
}

func TestByQueryCursors(t *testing.T) {
	h := newHandler(t, newFake(7), Params{})
	r := call(t, h, "GET", "/api/catalog/entities/by-query?limit=3&orderField=metadata.name,desc", "")
	page := decode[queryJSON](t, r)
	if got, want := names(page.Items), "g,f,e"; got != want {
		t.Fatalf("page 1: got %v, want %v", got, want)
	}
	if page.TotalItems == nil || *page.TotalItems != 7 {
		t.Errorf("totalItems: got %v, want 7", page.TotalItems)
	}
	if page.PageInfo.PrevCursor != "" || page.PageInfo.NextCursor == "" {
		t.Fatalf("page 1 cursors: got %+v", page.PageInfo)
	}
	next := func(c string) queryJSON {
		t.Helper()
		return decode[queryJSON](t, call(t, h, "GET", "/api/catalog/entities/by-query?limit=3&cursor="+url.QueryEscape(c), ""))
	}
	p2 := next(page.PageInfo.NextCursor)
	if got, want := names(p2.Items), "d,c,b"; got != want {
		t.Fatalf("page 2: got %v, want %v", got, want)
	}
	if p2.TotalItems == nil || *p2.TotalItems != 7 {
		t.Errorf("page 2 totalItems: got %v, want 7 (carried in the cursor)", p2.TotalItems)
	}
	p3 := next(p2.PageInfo.NextCursor)
	if got, want := names(p3.Items), "a"; got != want {
		t.Fatalf("page 3: got %v, want %v", got, want)
	}
	if p3.PageInfo.NextCursor != "" {
		t.Errorf("page 3 has a next cursor")
	}
	back := next(p3.PageInfo.PrevCursor)
	if got, want := names(back.Items), "d,c,b"; got != want {
		t.Errorf("back to page 2: got %v, want %v", got, want)
	}
	first := next(back.PageInfo.PrevCursor)
	if got, want := names(first.Items), "g,f,e"; got != want {
		t.Errorf("back to page 1: got %v, want %v", got, want)
	}
	if first.PageInfo.PrevCursor != "" || first.PageInfo.NextCursor == "" {
		t.Errorf("back on page 1 cursors: got %+v", first.PageInfo)
	}
}

func TestByQueryPost(t *testing.T) {
	h := newHandler(t, newFake(7), Params{})
	body := `{"query":{"kind":"API"},"limit":2,"orderBy":[{"field":"metadata.name","order":"asc"}],"fields":["metadata.name"],"totalItems":"exclude"}`
	page := decode[queryJSON](t, call(t, h, "POST", "/api/catalog/entities/by-query", body))
	if got, want := names(page.Items), "a,d"; got != want {
		t.Fatalf("page 1: got %v, want %v", got, want)
	}
	if page.TotalItems != nil {
		t.Errorf("totalItems: got %v, want none", *page.TotalItems)
	}
	p2 := decode[queryJSON](t, call(t, h, "POST", "/api/catalog/entities/by-query", `{"cursor":"`+page.PageInfo.NextCursor+`"}`))
	if got, want := names(p2.Items), "g"; got != want {
		t.Errorf("page 2: got %v, want %v", got, want)
	}
	count := decode[queryJSON](t, call(t, h, "GET", "/api/catalog/entities/by-query?limit=0&filter=kind=component", ""))
	if len(count.Items) != 0 || count.TotalItems == nil || *count.TotalItems != 4 {
		t.Errorf("count only: got %d items, total %v; want 0, 4", len(count.Items), count.TotalItems)
	}
}

func TestByRefs(t *testing.T) {
	h := newHandler(t, newFake(3), Params{})
	body := `{"entityRefs":["api:default/a","component:default/missing","Component:Default/B"],"fields":["metadata.name"]}`
	r := call(t, h, "POST", "/api/catalog/entities/by-refs", body)
	got := decode[struct {
		Items []entityJSON `json:"items"`
	}](t, r)
	if g, want := names(got.Items), "a,null,b"; g != want {
		t.Errorf("got %v, want %v", g, want)
	}
	r = call(t, h, "POST", "/api/catalog/entities/by-refs?filter=kind=component", `{"entityRefs":["api:default/a","component:default/b"]}`)
	got = decode[struct {
		Items []entityJSON `json:"items"`
	}](t, r)
	if g, want := names(got.Items), "null,b"; g != want {
		t.Errorf("filtered: got %v, want %v", g, want)
	}
}

func TestEntityRoutes(t *testing.T) {
	f := newFake(3)
	h := newHandler(t, f, Params{})
	r := call(t, h, "GET", "/api/catalog/entities/by-name/Component/default/B", "")
	if r.status != 200 || decode[entityJSON](t, r).Metadata["name"] != "b" {
		t.Errorf("by-name: got %d %s", r.status, r.body)
	}
	r = call(t, h, "GET", "/api/catalog/entities/by-uid/"+uid(1), "")
	if r.status != 200 || decode[entityJSON](t, r).Metadata["name"] != "b" {
		t.Errorf("by-uid: got %d %s", r.status, r.body)
	}
	r = call(t, h, "GET", "/api/catalog/entities/by-name/component/default/b/ancestry", "")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"rootEntityRef":"component:default/b"`)) {
		t.Errorf("ancestry: got %d %s", r.status, r.body)
	}
	r = call(t, h, "DELETE", "/api/catalog/entities/by-uid/whatever", "")
	if r.status != 204 {
		t.Errorf("delete: got %v, want 204", r.status)
	}
	r = call(t, h, "POST", "/api/catalog/refresh", `{"entityRef":"component:default/b"}`)
	if r.status != 200 || len(f.refreshed) != 1 {
		t.Errorf("refresh: got %v %v", r.status, f.refreshed)
	}
	r = call(t, h, "GET", "/api/catalog/entity-facets?facet=kind&facet=spec.type", "")
	if want := `{"facets":{"kind":[{"value":"API","count":1},{"value":"Component","count":2}],"spec.type":[]}}`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("facets: got %s, want %s", r.body, want)
	}
	r = call(t, h, "POST", "/api/catalog/entity-facets", `{"facets":["kind"],"query":{"kind":"component"}}`)
	if want := `{"facets":{"kind":[{"value":"Component","count":2}]}}`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("post facets: got %s, want %s", r.body, want)
	}
}

func TestValidateEntity(t *testing.T) {
	f := newFake(0)
	h := newHandler(t, f, Params{})
	body := `{"location":"url:https://example.com/catalog-info.yaml","entity":{"kind":"Component"}}`
	if r := call(t, h, "POST", "/api/catalog/validate-entity", body); r.status != 200 || len(r.body) != 0 {
		t.Errorf("valid: got %d %s, want 200 and no body", r.status, r.body)
	}
	f.problems = []engine.Problem{{File: "x", Line: 3, Field: "spec.owner", Message: "required"}}
	r := call(t, h, "POST", "/api/catalog/validate-entity", body)
	if want := `{"errors":[{"name":"InputError","message":"spec.owner: required"}]}`; r.status != 400 || strings.TrimSpace(string(r.body)) != want {
		t.Errorf("invalid: got %d %s, want 400 %s", r.status, r.body, want)
	}
}

func TestLocations(t *testing.T) {
	f := newFake(2)
	h := newHandler(t, f, Params{})
	r := call(t, h, "POST", "/api/catalog/locations?dryRun=true", `{"type":"url","target":"https://example.com/c.yaml"}`)
	if want := `"exists":false`; r.status != 201 || !bytes.Contains(r.body, []byte(want)) {
		t.Errorf("dry run: got %d %s", r.status, r.body)
	}
	r = call(t, h, "POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/c.yaml"}`)
	if want := `{"location":{"id":"loc-1","type":"url","target":"https://example.com/c.yaml"},"entities":[]}`; r.status != 201 || strings.TrimSpace(string(r.body)) != want {
		t.Errorf("create: got %d %s, want 201 %s", r.status, r.body, want)
	}
	r = call(t, h, "POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/c.yaml"}`)
	if r.status != 409 {
		t.Errorf("duplicate: got %d, want 409", r.status)
	}
	r = call(t, h, "GET", "/api/catalog/locations", "")
	if want := `[{"data":{"id":"loc-1","type":"url","target":"https://example.com/c.yaml"}}]`; strings.TrimSpace(string(r.body)) != want {
		t.Errorf("list: got %s, want %s", r.body, want)
	}
	r = call(t, h, "GET", "/api/catalog/locations/by-entity/component/default/b", "")
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"id":"loc-1"`)) {
		t.Errorf("by entity: got %d %s", r.status, r.body)
	}
	if r = call(t, h, "DELETE", "/api/catalog/locations/loc-1", ""); r.status != 204 {
		t.Errorf("delete: got %d, want 204", r.status)
	}
	if r = call(t, h, "DELETE", "/api/catalog/locations/loc-1", ""); r.status != 404 {
		t.Errorf("delete again: got %d, want 404", r.status)
	}
}

func TestReadonly(t *testing.T) {
	f := newFake(1)
	f.locations = nil
	h := newHandler(t, f, Params{Readonly: true})
	tests := []struct {
		method, target, body string
		status               int
	}{
		{"POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/c.yaml"}`, 403},
		{"POST", "/api/catalog/locations?dryRun=true", `{"type":"url","target":"https://example.com/c.yaml"}`, 201},
		{"DELETE", "/api/catalog/locations/x", "", 403},
		{"DELETE", "/api/catalog/entities/by-uid/x", "", 204},
	}
	for _, tt := range tests {
		r := call(t, h, tt.method, tt.target, tt.body)
		if r.status != tt.status {
			t.Errorf("%s %s: got %d, want %d (%s)", tt.method, tt.target, r.status, tt.status, r.body)
		}
		if tt.status == 403 && !bytes.Contains(r.body, []byte("This operation not allowed in readonly mode")) {
			t.Errorf("%s %s: got %s", tt.method, tt.target, r.body)
		}
	}
}

func TestStreamFailureCutsConnection(t *testing.T) {
	f := newFake(10)
	f.failAfter = 1
	a := New(Params{Catalog: f, Limits: Limits{StreamPageSize: 3}})
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(web.Chain(mux, web.Recover))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/catalog/entities")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("read: got a complete body %q, want a cut connection", body)
	}
	if json.Valid(body) {
		t.Errorf("body %q is valid JSON; a failed stream must not look complete", body)
	}
}
