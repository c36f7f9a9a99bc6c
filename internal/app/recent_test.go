package app_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestHomeRecentSurvivesRestart: the home page's "Recently changed" lists
// what was written before the server restarted, newest first, not only
// what changed since.
func TestHomeRecentSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog.yaml")
	doc := `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: %s }
spec: { type: service, lifecycle: production, owner: team-a }
`
	if err := os.WriteFile(catalog, []byte(fmt.Sprintf(doc, "parcel-tracker")+"---\n"+fmt.Sprintf(doc, "route-planner")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`backend:
  database: { client: sqlite, connection: %q }
catalog:
  locations: [{ type: file, target: %q }]
`, filepath.Join(dir, "atrium.db"), catalog)

	// The list follows change events and is seeded from the database on
	// its own goroutine, so it can lag Ready by a moment: poll the page.
	first := apptest.StartServer(t, cfg)
	apptest.Eventually(t, 0, "first start: recently changed lists parcel-tracker", func() (bool, string) {
		home := recentSection(t, first.BaseURL)
		return strings.Contains(home, "parcel-tracker"), home
	})
	first.Stop()

	// Nothing changes during the second start (the input is unchanged), so
	// the list can only come from the database.
	second := apptest.StartServer(t, cfg)
	apptest.Eventually(t, 0, "after a restart, recently changed lists parcel-tracker and route-planner", func() (bool, string) {
		home := recentSection(t, second.BaseURL)
		return strings.Contains(home, "parcel-tracker") && strings.Contains(home, "route-planner"), home
	})
}

// recentSection returns the HTML of the home page's "Recently changed" card.
func recentSection(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	i := strings.Index(page, `id="recent-h"`)
	if i < 0 {
		t.Fatalf("no recently changed section on the home page (status %d)", resp.StatusCode)
	}
	end := strings.Index(page[i:], "</section>")
	if end < 0 {
		end = len(page) - i
	}
	return page[i : i+end]
}
