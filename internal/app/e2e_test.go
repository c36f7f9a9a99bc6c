package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// descriptors is a small company: two teams, people, a system, components
// and APIs that reference each other.
var descriptors = map[string]string{
	"org.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: payments, title: Payments team }
spec: { type: team, children: [], members: [ada] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: platform }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ada }
spec: { memberOf: [payments] }
`,
	"system.yaml": `apiVersion: backstage.io/v1alpha1
kind: System
metadata: { name: checkout }
spec: { owner: payments }
`,
	"services/components.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  tags: [go, critical]
spec:
  type: service
  lifecycle: production
  owner: payments
  system: checkout
  providesApis: [payments]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: checkout-web, tags: [typescript] }
spec:
  type: website
  lifecycle: production
  owner: payments
  system: checkout
  consumesApis: [payments]
  dependsOn: [component:payments-api]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: ledger }
spec: { type: service, lifecycle: experimental, owner: platform }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: build-tools }
spec: { type: library, lifecycle: production, owner: platform }
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: { name: payments }
spec:
  type: openapi
  lifecycle: production
  owner: payments
  system: checkout
  definition: "openapi: 3.0.0"
`,
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: example-catalog }
spec:
  targets: [./org.yaml, ./system.yaml, ./services/components.yaml]
`,
}

// entityCount is every entity above plus the Location.
const entityCount = 11

func writeCatalog(t testing.TB) string { return apptest.WriteFiles(t, descriptors) }

func catalogConfig(dir string, extra string) string {
	return fmt.Sprintf(`catalog:
  locations:
    - type: file
      target: %q
  rules:
    - allow: [Component, API, Resource, System, Domain, Group, User, Location, Template]
atrium:
  allowedLocationTypes: [file, url]
%s`, filepath.Join(dir, "all.yaml"), extra)
}

type client struct {
	t    testing.TB
	base string
}

// with returns the client reporting to t (a subtest).
func (c client) with(t testing.TB) client { return client{t: t, base: c.base} }

func (c client) do(method, path, body string) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// json calls the API and decodes the answer into out, failing unless the
// status is want.
func (c client) json(method, path, body string, want int, out any) {
	c.t.Helper()
	status, _, b := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: got status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

type entity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		UID         string            `json:"uid"`
		Etag        string            `json:"etag"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec      map[string]any `json:"spec"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

func (e *entity) ref() string {
	if e == nil {
		return "null"
	}
	return strings.ToLower(e.Kind) + ":" + e.Metadata.Namespace + "/" + e.Metadata.Name
}

func refs(es []*entity) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.ref()
	}
	return strings.Join(s, ",")
}

func sortedRefs(es []*entity) string {
	s := strings.Split(refs(es), ",")
	sort.Strings(s)
	return strings.Join(s, ",")
}

func TestEndToEnd(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			dir := writeCatalog(t)
			c := client{t: t, base: apptest.Start(t, catalogConfig(dir, "")+db.YAML)}
			t.Run("health", func(t *testing.T) { testHealth(t, c.with(t)) })
			t.Run("entities", func(t *testing.T) { testEntities(t, c.with(t)) })
			t.Run("by-query", func(t *testing.T) { testByQuery(t, c.with(t)) })
			t.Run("by-refs and facets", func(t *testing.T) { testRefsAndFacets(t, c.with(t)) })
			t.Run("by-name, ancestry, refresh", func(t *testing.T) { testByName(t, c.with(t)) })
			t.Run("validate", func(t *testing.T) { testValidate(t, c.with(t)) })
			t.Run("locations", func(t *testing.T) { testLocations(t, c.with(t), dir) })
			t.Run("errors", func(t *testing.T) { testErrors(t, c.with(t)) })
		})
	}
}

func testHealth(t *testing.T, c client) {
	for _, p := range []string{"/healthz", "/readyz", "/.backstage/health/v1/liveness", "/.backstage/health/v1/readiness"} {
		status, _, body := c.do("GET", p, "")
		if status != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
			t.Errorf("%s: got %d %s, want 200 {\"status\":\"ok\"}", p, status, body)
		}
	}
	// The home page charts the entities per kind; the fixture has components.
	status, _, body := c.do("GET", "/", "")
	if status != 200 || !bytes.Contains(body, []byte(">Component</text>")) {
		t.Errorf("home page: got %d, want 200 with a Component bar in the kind chart", status)
	}
}

func testEntities(t *testing.T, c client) {
	var all []*entity
	c.json("GET", "/api/catalog/entities", "", 200, &all)
	if len(all) != entityCount {
		t.Fatalf("all entities: got %d (%s), want %d", len(all), sortedRefs(all), entityCount)
	}
	var comps []*entity
	c.json("GET", "/api/catalog/entities?filter=kind=component,spec.type=service&order=asc:metadata.name", "", 200, &comps)
	if got, want := refs(comps), "component:default/ledger,component:default/payments-api"; got != want {
		t.Errorf("AND filter: got %v, want %v", got, want)
	}
	var either []*entity
	c.json("GET", "/api/catalog/entities?filter=kind=api&filter=kind=system", "", 200, &either)
	if got, want := sortedRefs(either), "api:default/payments,system:default/checkout"; got != want {
		t.Errorf("OR filter: got %v, want %v", got, want)
	}
	var owned []*entity
	c.json("GET", "/api/catalog/entities?filter=relations.ownedBy=group:default/platform", "", 200, &owned)
	if got, want := sortedRefs(owned), "component:default/build-tools,component:default/ledger"; got != want {
		t.Errorf("relation filter: got %v, want %v", got, want)
	}
	var tagged []*entity
	c.json("GET", "/api/catalog/entities?filter=metadata.tags=GO", "", 200, &tagged)
	if got, want := refs(tagged), "component:default/payments-api"; got != want {
		t.Errorf("tag filter (case-insensitive): got %v, want %v", got, want)
	}
	var projected []map[string]any
	c.json("GET", "/api/catalog/entities?filter=kind=system&fields=kind,metadata.name", "", 200, &projected)
	if len(projected) != 1 || len(projected[0]) != 2 || projected[0]["kind"] != "System" {
		t.Errorf("projection: got %v", projected)
	}

	// Paged: walk the Link headers and meet every entity once.
	seen := map[string]bool{}
	next := "/api/catalog/entities?limit=4&order=asc:metadata.name"
	for pages := 0; next != ""; pages++ {
		if pages > entityCount {
			t.Fatalf("paging does not end")
		}
		status, h, body := c.do("GET", next, "")
		if status != 200 {
			t.Fatalf("GET %s: %d %s", next, status, body)
		}
		var page []*entity
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if seen[e.ref()] {
				t.Errorf("%s seen twice", e.ref())
			}
			seen[e.ref()] = true
		}
		next = ""
		if l := h.Get("Link"); l != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
	}
	if len(seen) != entityCount {
		t.Errorf("paged: got %d entities, want %d", len(seen), entityCount)
	}
}

type queryPage struct {
	Items      []*entity `json:"items"`
	TotalItems *int      `json:"totalItems"`
	PageInfo   struct {
		NextCursor string `json:"nextCursor"`
		PrevCursor string `json:"prevCursor"`
	} `json:"pageInfo"`
}

func testByQuery(t *testing.T, c client) {
	var first queryPage
	c.json("GET", "/api/catalog/entities/by-query?limit=3&orderField=metadata.name,asc", "", 200, &first)
	if first.TotalItems == nil || *first.TotalItems != entityCount {
		t.Fatalf("totalItems: got %v, want %d", first.TotalItems, entityCount)
	}
	var names []string
	pages := []queryPage{first}
	page := first
	for page.PageInfo.NextCursor != "" {
		if len(pages) > entityCount {
			t.Fatalf("cursor paging does not end")
		}
		var p queryPage
		c.json("GET", "/api/catalog/entities/by-query?limit=3&cursor="+url.QueryEscape(page.PageInfo.NextCursor), "", 200, &p)
		pages = append(pages, p)
		page = p
	}
	for _, p := range pages {
		for _, e := range p.Items {
			names = append(names, e.Metadata.Name)
		}
	}
	if !sort.StringsAreSorted(names) || len(names) != entityCount {
		t.Errorf("cursor walk: got %v, want %d names in order", names, entityCount)
	}
	// And back again from the last page.
	var back queryPage
	c.json("GET", "/api/catalog/entities/by-query?limit=3&cursor="+url.QueryEscape(page.PageInfo.PrevCursor), "", 200, &back)
	if got, want := refs(back.Items), refs(pages[len(pages)-2].Items); got != want {
		t.Errorf("prev cursor: got %v, want %v", got, want)
	}

	var desc queryPage
	c.json("GET", "/api/catalog/entities/by-query?filter=kind=component&orderField=metadata.name,desc&limit=2", "", 200, &desc)
	if got, want := refs(desc.Items), "component:default/payments-api,component:default/ledger"; got != want {
		t.Errorf("desc: got %v, want %v", got, want)
	}
	var ft queryPage
	c.json("GET", "/api/catalog/entities/by-query?fullTextFilterTerm=PAYMENTS&fullTextFilterFields=metadata.name&orderField=metadata.name,asc", "", 200, &ft)
	if got, want := sortedRefs(ft.Items), "api:default/payments,component:default/payments-api,group:default/payments"; got != want {
		t.Errorf("full text: got %v, want %v", got, want)
	}
	var pred queryPage
	body := `{"query":{"$all":[{"kind":"component"},{"$not":{"spec.lifecycle":"production"}}]},"orderBy":[{"field":"metadata.name","order":"asc"}]}`
	c.json("POST", "/api/catalog/entities/by-query", body, 200, &pred)
	if got, want := refs(pred.Items), "component:default/ledger"; got != want {
		t.Errorf("predicate: got %v, want %v", got, want)
	}
	var tags queryPage
	c.json("POST", "/api/catalog/entities/by-query", `{"query":{"metadata.tags":{"$contains":"critical"}}}`, 200, &tags)
	if got, want := refs(tags.Items), "component:default/payments-api"; got != want {
		t.Errorf("$contains: got %v, want %v", got, want)
	}
}

func testRefsAndFacets(t *testing.T, c client) {
	var got struct {
		Items []*entity `json:"items"`
	}
	c.json("POST", "/api/catalog/entities/by-refs", `{"entityRefs":["component:default/ledger","component:default/nope","API:default/Payments"]}`, 200, &got)
	if r, want := refs(got.Items), "component:default/ledger,null,api:default/payments"; r != want {
		t.Errorf("by-refs: got %v, want %v", r, want)
	}
	var facets struct {
		Facets map[string][]struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		} `json:"facets"`
	}
	c.json("GET", "/api/catalog/entity-facets?facet=spec.type&filter=kind=component", "", 200, &facets)
	counts := map[string]int{}
	for _, f := range facets.Facets["spec.type"] {
		counts[f.Value] = f.Count
	}
	if counts["service"] != 2 || counts["website"] != 1 || counts["library"] != 1 || len(counts) != 3 {
		t.Errorf("facets: got %v", facets.Facets)
	}
	c.json("POST", "/api/catalog/entity-facets", `{"facets":["kind"],"query":{"kind":"group"}}`, 200, &facets)
	if f := facets.Facets["kind"]; len(f) != 1 || f[0].Value != "Group" || f[0].Count != 2 {
		t.Errorf("post facets: got %v", facets.Facets)
	}
}

func testByName(t *testing.T, c client) {
	var e entity
	c.json("GET", "/api/catalog/entities/by-name/Component/default/Payments-API", "", 200, &e)
	rels := map[string]bool{}
	for _, r := range e.Relations {
		rels[r.Type+" "+r.TargetRef] = true
	}
	for _, want := range []string{"ownedBy group:default/payments", "partOf system:default/checkout", "providesApi api:default/payments", "dependencyOf component:default/checkout-web"} {
		if !rels[want] {
			t.Errorf("relations of payments-api: missing %q in %v", want, e.Relations)
		}
	}
	if e.Metadata.UID == "" || e.Metadata.Etag == "" {
		t.Errorf("uid/etag missing: %+v", e.Metadata)
	}
	if !strings.HasPrefix(e.Metadata.Annotations["backstage.io/managed-by-location"], "file:") {
		t.Errorf("managed-by-location: got %v", e.Metadata.Annotations)
	}
	var byUID entity
	c.json("GET", "/api/catalog/entities/by-uid/"+e.Metadata.UID, "", 200, &byUID)
	if byUID.ref() != e.ref() {
		t.Errorf("by-uid: got %v, want %v", byUID.ref(), e.ref())
	}
	var anc struct {
		RootEntityRef string `json:"rootEntityRef"`
		Items         []struct {
			Entity           entity   `json:"entity"`
			ParentEntityRefs []string `json:"parentEntityRefs"`
		} `json:"items"`
	}
	c.json("GET", "/api/catalog/entities/by-name/component/default/payments-api/ancestry", "", 200, &anc)
	if anc.RootEntityRef != "component:default/payments-api" || len(anc.Items) < 2 || anc.Items[0].Entity.Metadata.Name != "payments-api" {
		t.Errorf("ancestry: got %+v", anc)
	} else if p := anc.Items[0].ParentEntityRefs; len(p) != 1 || p[0] != "location:default/example-catalog" {
		t.Errorf("ancestry parents: got %v, want [location:default/example-catalog]", p)
	}
	c.json("POST", "/api/catalog/refresh", `{"entityRef":"component:default/payments-api"}`, 200, nil)
}

func testValidate(t *testing.T, c client) {
	good := `{"location":"url:https://example.com/catalog-info.yaml","entity":{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"x"},"spec":{"type":"service","lifecycle":"production","owner":"payments"}}}`
	if status, _, body := c.do("POST", "/api/catalog/validate-entity", good); status != 200 {
		t.Errorf("valid entity: got %d %s, want 200", status, body)
	}
	bad := `{"location":"url:https://example.com/catalog-info.yaml","entity":{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"-x-"},"spec":{"type":"service","lifecycle":"production"}}}`
	var errs struct {
		Errors []struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	c.json("POST", "/api/catalog/validate-entity", bad, 400, &errs)
	all := ""
	for _, e := range errs.Errors {
		all += e.Message + "\n"
		if e.Name != "InputError" {
			t.Errorf("error name: got %v, want InputError", e.Name)
		}
	}
	for _, want := range []string{"metadata.name", "spec.owner"} {
		if !strings.Contains(all, want) {
			t.Errorf("validate errors: got %q, want one about %s", all, want)
		}
	}
}

func testLocations(t *testing.T, c client, dir string) {
	extra := filepath.Join(dir, "extra.yaml")
	if err := os.WriteFile(extra, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: extra }\nspec: { type: service, lifecycle: production, owner: platform }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fmt.Sprintf(`{"type":"file","target":%q}`, extra)
	var dry struct {
		Exists   bool      `json:"exists"`
		Entities []*entity `json:"entities"`
	}
	c.json("POST", "/api/catalog/locations?dryRun=true", spec, 201, &dry)
	if dry.Exists || !strings.Contains(refs(dry.Entities), "component:default/extra") {
		t.Errorf("dry run: got exists=%v entities=%v", dry.Exists, refs(dry.Entities))
	}
	var created struct {
		Location struct {
			ID     string `json:"id"`
			Type   string `json:"type"`
			Target string `json:"target"`
		} `json:"location"`
		Entities []*entity `json:"entities"`
	}
	c.json("POST", "/api/catalog/locations", spec, 201, &created)
	if created.Location.ID == "" || created.Location.Target != extra || created.Entities == nil {
		t.Errorf("create: got %+v", created)
	}
	if status, _, body := c.do("POST", "/api/catalog/locations", spec); status != 409 {
		t.Errorf("duplicate: got %d %s, want 409", status, body)
	}
	var list []struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	c.json("GET", "/api/catalog/locations", "", 200, &list)
	if len(list) != 1 || list[0].Data.ID != created.Location.ID {
		t.Errorf("list: got %+v", list)
	}
	c.json("GET", "/api/catalog/locations/"+created.Location.ID, "", 200, nil)
	c.json("GET", "/api/catalog/entities/by-name/component/default/extra", "", 200, nil)
	var origin struct {
		ID string `json:"id"`
	}
	c.json("GET", "/api/catalog/locations/by-entity/component/default/extra", "", 200, &origin)
	if origin.ID != created.Location.ID {
		t.Errorf("by-entity: got %v, want %v", origin.ID, created.Location.ID)
	}
	c.json("DELETE", "/api/catalog/locations/"+created.Location.ID, "", 204, nil)
	c.json("GET", "/api/catalog/locations/"+created.Location.ID, "", 404, nil)
	c.json("GET", "/api/catalog/entities/by-name/component/default/extra", "", 404, nil)
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	c.json("POST", "/api/catalog/locations?dryRun=true", `{"type":"url","target":"https://git.example.com/c.yaml"}`, 400, &e)
	if !strings.Contains(e.Error.Message, "backend.reading.allow") {
		t.Errorf("host not allowed: got %q", e.Error.Message)
	}
}

func testErrors(t *testing.T, c client) {
	var e struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
		Request struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response struct {
			StatusCode int `json:"statusCode"`
		} `json:"response"`
	}
	c.json("GET", "/api/catalog/entities/by-name/component/default/nope", "", 404, &e)
	if e.Error.Name != "NotFoundError" || e.Response.StatusCode != 404 || e.Request.Method != "GET" ||
		e.Error.Message != "No entity named 'nope' found, with kind 'component' in namespace 'default'" {
		t.Errorf("404 body: got %+v", e)
	}
	var none []*entity
	c.json("GET", "/api/catalog/entities?filter="+url.QueryEscape("kind='; DROP TABLE entities; --"), "", 200, &none)
	if len(none) != 0 {
		t.Errorf("SQL in a filter value matched %v", refs(none))
	}
	c.json("GET", "/api/catalog/entities/by-query?limit=100000", "", 400, &e)
	if e.Error.Name != "InputError" {
		t.Errorf("limit over max: got %+v", e)
	}
	c.json("DELETE", "/api/catalog/entities/by-uid/does-not-exist", "", 204, nil)
	big := `{"entityRefs":[` + strings.Repeat(`"component:default/x",`, 1000) + `"component:default/y"]}`
	c.json("POST", "/api/catalog/entities/by-refs", big, 400, &e)
	if !strings.Contains(e.Error.Message, "at most 1000") {
		t.Errorf("by-refs over max: got %+v", e)
	}
	var all []*entity
	c.json("GET", "/api/catalog/entities?filter=kind=component", "", 200, &all)
	if len(all) == 0 {
		t.Errorf("entities lost after bad requests")
	}
}

func TestReadonly(t *testing.T) {
	dir := writeCatalog(t)
	ro := client{t: t, base: apptest.Start(t, strings.Replace(catalogConfig(dir, ""), "catalog:\n", "catalog:\n  readonly: true\n", 1))}
	spec := fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, "system.yaml"))
	if status, _, body := ro.do("POST", "/api/catalog/locations", spec); status != 403 || !bytes.Contains(body, []byte("readonly")) {
		t.Errorf("create in readonly: got %d %s, want 403", status, body)
	}
	if status, _, body := ro.do("POST", "/api/catalog/locations?dryRun=true", spec); status != 201 {
		t.Errorf("dry run in readonly: got %d %s, want 201", status, body)
	}
	if status, _, _ := ro.do("DELETE", "/api/catalog/locations/some-id", ""); status != 403 {
		t.Errorf("delete in readonly: got %d, want 403", status)
	}
}
