package ui_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// portal is a running Atrium with the test catalog of testdata/.
type portal struct {
	*apptest.Server
	// CatalogDir holds the descriptors; tests edit them to see live updates.
	CatalogDir string
}

// startPortal copies testdata/ to a temporary directory and starts Atrium
// reading it as static file locations; file locations may be registered.
func startPortal(t testing.TB) *portal {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"catalog.yaml", "live.yaml", "extra.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The ledger service's TechDocs (techdocs-ref dir:.) live in docs/.
	docs, err := os.ReadFile(filepath.Join("testdata", "docs", "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docs", "index.md"), docs, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`catalog:
  locations:
    - { type: file, target: %q }
    - { type: file, target: %q }
  rules:
    - allow: [Component, API, Resource, System, Domain, Group, User, Location]
atrium:
  allowedLocationTypes: [file, url]
`, filepath.Join(dir, "catalog.yaml"), filepath.Join(dir, "live.yaml"))
	return &portal{Server: apptest.StartServer(t, cfg), CatalogDir: dir}
}

// get fetches path as a browser would and parses the page.
func (p *portal) get(t testing.TB, path string) (*http.Response, *goquery.Document) {
	t.Helper()
	req, err := http.NewRequest("GET", p.BaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("GET %s: not HTML: %v", path, err)
	}
	return res, doc
}

// texts returns the trimmed text of every match of sel.
func texts(doc *goquery.Document, sel string) []string {
	var out []string
	doc.Find(sel).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.Join(strings.Fields(s.Text()), " "))
	})
	return out
}
