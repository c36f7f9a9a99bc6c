package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/store"
)

const authzCatalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-a }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-b }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: security }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: jane }
spec: { memberOf: [team-a] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: sam }
spec: { memberOf: [security] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: a-svc }
spec: { type: service, lifecycle: experimental, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: a-prod }
spec: { type: service, lifecycle: production, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: b-svc }
spec: { type: service, lifecycle: experimental, owner: team-b }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: vault, tags: [secret], annotations: { backstage.io/techdocs-ref: "dir:./vault-docs" } }
spec: { type: service, lifecycle: experimental, owner: team-b }
`

// authzServer starts Atrium with the example policy and a small catalog,
// and returns personal tokens for jane (team-a) and sam (security).
func authzServer(t *testing.T) (s *apptest.Server, jane, sam, dir string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(authzCatalog), 0o600); err != nil {
		t.Fatal(err)
	}
	policy := apptest.ExamplePolicy(t)
	if err := os.MkdirAll(filepath.Join(dir, "vault-docs", "docs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vault-docs", "docs", "index.md"), []byte("# Vault runbook\n\nRotate the unseal keys every quarter.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, owner := range map[string]string{"mine.yaml": "team-a", "theirs.yaml": "team-b"} {
		doc := fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: reg-%s }\nspec: { type: service, lifecycle: experimental, owner: %s }\n", owner, owner)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = apptest.StartServer(t, fmt.Sprintf(`atrium:
  allowedLocationTypes: [file]
catalog:
  locations: [{ type: file, target: %q }]
  rules: [{ allow: [Component, Group, User, Location] }]
permission:
  enabled: true
  policies: [%q]
`, filepath.Join(dir, "catalog.yaml"), policy))
	token := func(ref string) string { return s.Token(t, ref) }
	return s, token("user:default/jane"), token("user:default/sam"), dir
}

// call sends a request with a bearer token and decodes a JSON answer into out.
func call(t *testing.T, s *apptest.Server, token, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, s.BaseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

type namedEntity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"metadata"`
}

func componentNames(t *testing.T, s *apptest.Server, token string) []string {
	t.Helper()
	var names []string
	cursor := ""
	for {
		var page struct {
			Items    []namedEntity `json:"items"`
			PageInfo struct {
				NextCursor string `json:"nextCursor"`
			} `json:"pageInfo"`
			TotalItems int `json:"totalItems"`
		}
		path := "/api/catalog/entities/by-query?filter=kind=component&limit=1&orderField=metadata.name,asc"
		if cursor != "" {
			path = "/api/catalog/entities/by-query?limit=1&cursor=" + cursor
		}
		if code := call(t, s, token, "GET", path, "", &page); code != 200 {
			t.Fatalf("by-query: got %d", code)
		}
		for _, e := range page.Items {
			names = append(names, e.Metadata.Name)
		}
		if page.PageInfo.NextCursor == "" {
			return names
		}
		cursor = page.PageInfo.NextCursor
	}
}

func TestAuthorizationEndToEnd(t *testing.T) {
	s, jane, sam, dir := authzServer(t)

	t.Run("lists are filtered and paged correctly", func(t *testing.T) {
		if got, want := componentNames(t, s, jane), []string{"a-prod", "a-svc", "b-svc"}; !slices.Equal(got, want) {
			t.Errorf("jane: got %v, want %v", got, want)
		}
		if got, want := componentNames(t, s, sam), []string{"a-prod", "a-svc", "b-svc", "vault"}; !slices.Equal(got, want) {
			t.Errorf("sam: got %v, want %v", got, want)
		}
		var all []namedEntity
		call(t, s, jane, "GET", "/api/catalog/entities?filter=kind=component", "", &all)
		if len(all) != 3 {
			t.Errorf("GET /entities for jane: got %d components, want 3", len(all))
		}
	})

	t.Run("a hidden entity looks absent", func(t *testing.T) {
		var e namedEntity
		if code := call(t, s, sam, "GET", "/api/catalog/entities/by-name/component/default/vault", "", &e); code != 200 {
			t.Fatalf("sam: got %d, want 200", code)
		}
		var errBody struct {
			Error struct{ Name, Message string } `json:"error"`
		}
		code := call(t, s, jane, "GET", "/api/catalog/entities/by-name/component/default/vault", "", &errBody)
		if code != 404 || errBody.Error.Message != "No entity named 'vault' found, with kind 'component' in namespace 'default'" {
			t.Errorf("jane: got %d %+v, want the same 404 as an absent entity", code, errBody)
		}
		if code := call(t, s, jane, "GET", "/api/catalog/entities/by-uid/"+e.Metadata.UID, "", nil); code != 404 {
			t.Errorf("jane by uid: got %d, want 404", code)
		}
		var refs struct {
			Items []*namedEntity `json:"items"`
		}
		call(t, s, jane, "POST", "/api/catalog/entities/by-refs", `{"entityRefs":["component:default/vault","component:default/a-svc"]}`, &refs)
		if len(refs.Items) != 2 || refs.Items[0] != nil || refs.Items[1] == nil {
			t.Errorf("jane by-refs: got %+v, want [null, a-svc]", refs.Items)
		}
		var facets struct {
			Facets map[string][]struct {
				Value string `json:"value"`
				Count int    `json:"count"`
			} `json:"facets"`
		}
		call(t, s, jane, "GET", "/api/catalog/entity-facets?facet=kind", "", &facets)
		for _, f := range facets.Facets["kind"] {
			if f.Value == "Component" && f.Count != 3 {
				t.Errorf("jane's facet count of Component: got %d, want 3", f.Count)
			}
		}
	})

	t.Run("changes need their permission", func(t *testing.T) {
		var b, aSvc, aProd namedEntity
		call(t, s, jane, "GET", "/api/catalog/entities/by-name/component/default/b-svc", "", &b)
		call(t, s, jane, "GET", "/api/catalog/entities/by-name/component/default/a-svc", "", &aSvc)
		call(t, s, jane, "GET", "/api/catalog/entities/by-name/component/default/a-prod", "", &aProd)
		var errBody struct {
			Error struct{ Name, Message string } `json:"error"`
		}
		code := call(t, s, jane, "DELETE", "/api/catalog/entities/by-uid/"+b.Metadata.UID, "", &errBody)
		if code != 403 || !strings.Contains(errBody.Error.Message, "catalog.entity.delete") {
			t.Errorf("jane deletes b-svc: got %d %+v, want 403 naming catalog.entity.delete", code, errBody)
		}
		code = call(t, s, jane, "DELETE", "/api/catalog/entities/by-uid/"+aProd.Metadata.UID, "", &errBody)
		if code != 403 || !strings.Contains(errBody.Error.Message, "no-production-deletes") {
			t.Errorf("jane deletes a-prod: got %d %+v, want 403 naming the deny rule", code, errBody)
		}
		if code := call(t, s, jane, "POST", "/api/catalog/refresh", `{"entityRef":"component:default/b-svc"}`, nil); code != 403 {
			t.Errorf("jane refreshes b-svc: got %d, want 403", code)
		}
		if code := call(t, s, jane, "POST", "/api/catalog/refresh", `{"entityRef":"component:default/a-svc"}`, nil); code != 200 {
			t.Errorf("jane refreshes a-svc: got %d, want 200", code)
		}
		if code := call(t, s, jane, "DELETE", "/api/catalog/entities/by-uid/"+aSvc.Metadata.UID, "", nil); code != 204 {
			t.Errorf("jane deletes a-svc: got %d, want 204", code)
		}
	})

	t.Run("locations need ownership of every entity", func(t *testing.T) {
		var errBody struct {
			Error struct{ Message string } `json:"error"`
		}
		theirs := fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, "theirs.yaml"))
		code := call(t, s, jane, "POST", "/api/catalog/locations", theirs, &errBody)
		if code != 403 || !strings.Contains(errBody.Error.Message, "component:default/reg-team-b") {
			t.Errorf("jane registers team-b's location: got %d %q, want 403 naming component:default/reg-team-b", code, errBody.Error.Message)
		}
		if code := call(t, s, jane, "POST", "/api/catalog/locations?dryRun=true", theirs, nil); code != 201 && code != 200 {
			t.Errorf("jane's dry run of team-b's location: got %d, want it to succeed", code)
		}
		var created struct {
			Location struct{ ID string } `json:"location"`
		}
		mine := fmt.Sprintf(`{"type":"file","target":%q}`, filepath.Join(dir, "mine.yaml"))
		if code := call(t, s, jane, "POST", "/api/catalog/locations", mine, &created); code != 201 {
			t.Fatalf("jane registers team-a's location: got %d, want 201", code)
		}
		code = call(t, s, sam, "DELETE", "/api/catalog/locations/"+created.Location.ID, "", &errBody)
		if code != 403 || !strings.Contains(errBody.Error.Message, "catalog.location.delete") {
			t.Errorf("sam unregisters jane's location: got %d %q, want 403 naming catalog.location.delete", code, errBody.Error.Message)
		}
		if code := call(t, s, jane, "DELETE", "/api/catalog/locations/"+created.Location.ID, "", nil); code != 204 {
			t.Errorf("jane unregisters her location: got %d, want 204", code)
		}
	})

	t.Run("denials are audited", func(t *testing.T) {
		page, err := s.App.Audit().List(context.Background(), audit.Query{AuditListParams: store.AuditListParams{Outcome: string(audit.Denied), Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		found := slices.ContainsFunc(page.Items, func(e audit.Entry) bool {
			return e.Action == "catalog.entity.delete" && e.Resource == "component:default/b-svc" && e.Actor.Ref == "user:default/jane"
		})
		if !found {
			t.Errorf("got %+v, want jane's denied delete of b-svc", page.Items)
		}
	})

	t.Run("POST /api/permission/authorize", func(t *testing.T) {
		body := `{"items":[
			{"id":"1","permission":{"type":"resource","name":"catalog.entity.read","attributes":{"action":"read"},"resourceType":"catalog-entity"}},
			{"id":"2","permission":{"type":"resource","name":"catalog.entity.delete","attributes":{"action":"delete"},"resourceType":"catalog-entity"},"resourceRef":"component:default/b-svc"},
			{"id":"3","permission":{"type":"resource","name":"catalog.entity.read","resourceType":"catalog-entity"},"resourceRef":"component:default/b-svc"},
			{"id":"4","permission":{"type":"basic","name":"catalog.location.read","attributes":{"action":"read"}}},
			{"id":"5","permission":{"type":"resource","name":"catalog.entity.read","resourceType":"catalog-entity"},"resourceRef":"component:default/vault"},
			{"id":"6","permission":{"type":"basic","name":"atrium.admin.audit.read"}}
		]}`
		var resp struct {
			Items []struct {
				ID           string         `json:"id"`
				Result       string         `json:"result"`
				PluginID     string         `json:"pluginId"`
				ResourceType string         `json:"resourceType"`
				Conditions   map[string]any `json:"conditions"`
			} `json:"items"`
		}
		if code := call(t, s, jane, "POST", "/api/permission/authorize", body, &resp); code != 200 {
			t.Fatalf("got %d, want 200", code)
		}
		want := []string{"CONDITIONAL", "DENY", "ALLOW", "ALLOW", "DENY", "DENY"}
		for i, it := range resp.Items {
			if it.ID != fmt.Sprint(i+1) || it.Result != want[i] {
				t.Errorf("item %d: got %s %s, want %d %s", i, it.ID, it.Result, i+1, want[i])
			}
		}
		if c := resp.Items[0]; c.PluginID != "catalog" || c.ResourceType != "catalog-entity" || c.Conditions["not"] == nil {
			t.Errorf("got %+v, want catalog conditions with a not (the hide-secret rule)", c)
		}
		var sams struct {
			Items []struct{ Result string } `json:"items"`
		}
		call(t, s, sam, "POST", "/api/permission/authorize", body, &sams)
		if len(sams.Items) != 6 || sams.Items[0].Result != "ALLOW" || sams.Items[4].Result != "ALLOW" || sams.Items[5].Result != "ALLOW" {
			t.Errorf("sam: got %+v, want read and audit.read allowed", sams.Items)
		}
	})

	t.Run("authorize rejects bad input", func(t *testing.T) {
		tests := []struct{ body, want string }{
			{`{"items":[{"id":"1","permission":{"name":"catalog.entity.fly"}}]}`, `items[0].permission.name: unknown permission "catalog.entity.fly"`},
			{`{"items":[{"permission":{"name":"catalog.entity.read"}}]}`, `items[0].id is required`},
			{`{}`, `items is required`},
			{`{"items":`, `request body is not valid`},
		}
		for _, tt := range tests {
			var errBody struct {
				Error struct{ Message string } `json:"error"`
			}
			code := call(t, s, jane, "POST", "/api/permission/authorize", tt.body, &errBody)
			if code != 400 || !strings.Contains(errBody.Error.Message, tt.want) {
				t.Errorf("%s: got %d %q, want 400 %q", tt.body, code, errBody.Error.Message, tt.want)
			}
		}
	})
}

func TestPermissionsPage(t *testing.T) {
	s, jane, sam, _ := authzServer(t)
	page := func(token, query string) (int, *goquery.Document) {
		t.Helper()
		req, err := http.NewRequest("GET", s.BaseURL+"/settings/permissions"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		doc, err := goquery.NewDocumentFromReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, doc
	}
	result := func(doc *goquery.Document, perm string) string {
		return doc.Find(`#effective tr[data-permission="`+perm+`"]`).AttrOr("data-result", "")
	}

	code, doc := page(jane, "")
	if code != 200 {
		t.Fatalf("jane: got %d, want 200", code)
	}
	if got := doc.Find("#subject").Text(); got != "user:default/jane" {
		t.Errorf("subject: got %q, want user:default/jane", got)
	}
	if got := result(doc, "catalog.entity.read"); got != "CONDITIONAL" {
		t.Errorf("jane's catalog.entity.read: got %q, want CONDITIONAL", got)
	}
	if got := result(doc, "atrium.admin.audit.read"); got != "DENY" {
		t.Errorf("jane's atrium.admin.audit.read: got %q, want DENY", got)
	}
	if n := doc.Find("table.rules").Length(); n != 0 {
		t.Errorf("jane sees %d rule tables, want none without atrium.admin.policy.read", n)
	}
	if code, _ := page(jane, "?user=user:default/sam"); code != 403 {
		t.Errorf("jane asks for sam: got %d, want 403", code)
	}

	code, doc = page(sam, "?user=user:default/jane")
	if code != 200 {
		t.Fatalf("sam: got %d, want 200", code)
	}
	if got := doc.Find("#ownership").Text(); !strings.Contains(got, "group:default/team-a") {
		t.Errorf("jane's ownership as sam sees it: got %q, want group:default/team-a", got)
	}
	if got := result(doc, "catalog.entity.read"); got != "CONDITIONAL" {
		t.Errorf("jane's catalog.entity.read as sam sees it: got %q, want CONDITIONAL", got)
	}
	if !strings.Contains(doc.Find("table.rules").Text(), "hide-secret") {
		t.Errorf("sam does not see the hide-secret rule")
	}
	if !strings.Contains(doc.Find("table.bindings").Text(), "maintainer") {
		t.Errorf("sam does not see the bindings")
	}
}

// TestDocsFollowReadPermission checks that TechDocs pages and docs search
// hide the documentation of entities the caller may not read.
func TestDocsFollowReadPermission(t *testing.T) {
	s, jane, sam, _ := authzServer(t)
	page := func(token, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", s.BaseURL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := page(sam, "/docs/default/component/vault/"); code != 200 || !strings.Contains(body, "unseal keys") {
		t.Fatalf("sam opens vault's docs: got %d, want 200 with the runbook", code)
	}
	if code, body := page(jane, "/docs/default/component/vault/"); code != 404 || strings.Contains(body, "unseal keys") {
		t.Errorf("jane opens vault's docs: got %d, want 404 without the runbook", code)
	}
	if _, body := page(sam, "/docs?q=unseal"); !strings.Contains(body, "Vault runbook") {
		t.Errorf("sam searches the docs: got no hit for the vault runbook, want one")
	}
	if _, body := page(jane, "/docs?q=unseal"); strings.Contains(body, "Vault runbook") {
		t.Errorf("jane searches the docs: got the vault runbook, want it hidden")
	}
}
