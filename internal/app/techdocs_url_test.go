package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestDocsFromURLLocation: an entity registered from a url location gets
// its TechDocs built from the dir: folder next to its descriptor, read
// through the folder's atrium-files.json manifest from an allowed host.
func TestDocsFromURLLocation(t *testing.T) {
	site := map[string]string{
		"/svc/catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  annotations: { backstage.io/techdocs-ref: dir:. }
spec: { type: service, lifecycle: production, owner: team-a }
`,
		"/svc/atrium-files.json": `{"files": [{"path": "mkdocs.yml"}, {"path": "docs/index.md"}, {"path": "docs/runbook.md"}]}`,
		"/svc/mkdocs.yml":        "site_name: Ledger\nnav:\n  - Home: index.md\n  - Runbook: runbook.md\n",
		"/svc/docs/index.md":     "# Ledger\n\nThe ledger keeps **double-entry** books. See the [runbook](runbook.md).\n",
		"/svc/docs/runbook.md":   "# Runbook\n\nRestart with care.\n",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := site[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	s := apptest.StartServer(t, `backend:
  reading:
    allow: [{ host: 127.0.0.1 }]
atrium:
  allowedLocationTypes: [file, url]
`)
	c := apptest.Client{T: t, Base: s.BaseURL}
	c.JSON("POST", "/api/catalog/locations", map[string]any{"type": "url", "target": srv.URL + "/svc/catalog-info.yaml"}, 201, nil)

	get := func(path string) (int, string) {
		resp, err := http.Get(s.BaseURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/docs/default/component/ledger/")
	if code != 200 || !strings.Contains(body, "double-entry") || !strings.Contains(body, "Runbook") {
		t.Fatalf("docs of a url location: %d\n%.1500s", code, body)
	}
	if code, body := get("/docs/default/component/ledger/runbook/"); code != 200 || !strings.Contains(body, "Restart with care") {
		t.Errorf("runbook page: %d\n%.800s", code, body)
	}

	// Without a manifest the folder cannot be listed: a clear error.
	delete(site, "/svc/atrium-files.json")
	s2 := apptest.StartServer(t, `backend:
  reading:
    allow: [{ host: 127.0.0.1 }]
atrium:
  allowedLocationTypes: [file, url]
`)
	apptest.Client{T: t, Base: s2.BaseURL}.JSON("POST", "/api/catalog/locations", map[string]any{"type": "url", "target": srv.URL + "/svc/catalog-info.yaml"}, 201, nil)
	resp, err := http.Get(s2.BaseURL + "/docs/default/component/ledger/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 || !strings.Contains(string(b), "atrium-files.json") {
		t.Errorf("a folder without a manifest: %d, want an error naming atrium-files.json\n%.800s", resp.StatusCode, b)
	}
}
