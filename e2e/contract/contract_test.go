package contract_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/e2e/contract"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/demo"
)

// skipOrFail skips the test on a machine that lacks what it needs, except
// in CI, where a missing tool is a failure.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// installClient returns a folder with the pinned npm packages installed.
func installClient(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "%s is not on PATH: %v", tool, err)
		}
	}
	cacheDir := ""
	if base, err := os.UserCacheDir(); err == nil {
		cacheDir = filepath.Join(base, contract.CacheName)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir, err := contract.Install(ctx, cacheDir, t.TempDir())
	if errors.Is(err, contract.ErrNetwork) {
		skipOrFail(t, "installing the Backstage catalog client: %v", err)
	}
	if err != nil {
		t.Fatalf("installing the Backstage catalog client: %v", err)
	}
	return dir
}

// expectations are the counts the demo catalog must show, computed from the
// demo files with the catalog's own parser.
type expectations struct {
	Kinds                             map[string]int `json:"kinds"`
	Components                        int            `json:"components"`
	Websites                          int            `json:"websites"`
	WebsitesAndLibrariesNotDeprecated int            `json:"websitesAndLibrariesNotDeprecated"`
	Domains                           int            `json:"domains"`
	Systems                           int            `json:"systems"`
	Users                             int            `json:"users"`
	APIs                              int            `json:"apis"`
}

// demoExpectations reads the demo tree as ingestion does, from the root
// Location through its targets, and counts what the catalog must show.
func demoExpectations(t *testing.T) expectations {
	t.Helper()
	exp := expectations{Kinds: map[string]int{}}
	queue := []string{demo.RootFile}
	seen := map[string]bool{}
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		if seen[file] {
			continue
		}
		seen[file] = true
		data, err := fs.ReadFile(demo.Files(), file)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := catalog.ParseDescriptors(file, data, catalog.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			kind, _ := d.Raw["kind"].(string)
			spec, _ := d.Raw["spec"].(map[string]any)
			typ, _ := spec["type"].(string)
			lifecycle, _ := spec["lifecycle"].(string)
			exp.Kinds[kind]++
			switch kind {
			case "Component":
				exp.Components++
				if typ == "website" {
					exp.Websites++
				}
				if (typ == "website" || typ == "library") && lifecycle != "deprecated" {
					exp.WebsitesAndLibrariesNotDeprecated++
				}
			case "Location":
				var targets []any
				if tg, ok := spec["target"]; ok {
					targets = append(targets, tg)
				}
				if ts, ok := spec["targets"].([]any); ok {
					targets = append(targets, ts...)
				}
				for _, tg := range targets {
					s, _ := tg.(string)
					loc, err := catalog.ResolveTarget(catalog.LocationRef{Type: "file", Target: file}, s)
					if err != nil {
						t.Fatalf("%s: target %q: %v", file, s, err)
					}
					queue = append(queue, path.Clean(loc.Target))
				}
			}
		}
	}
	exp.Domains, exp.Systems, exp.Users, exp.APIs = exp.Kinds["Domain"], exp.Kinds["System"], exp.Kinds["User"], exp.Kinds["API"]
	return exp
}

const probeYAML = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: contract-probe
  description: Registered by the contract test through POST /locations.
spec:
  type: service
  lifecycle: experimental
  owner: tracking-team
  system: shipment-tracking
`

const dryRunYAML = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: contract-dry-run
spec:
  type: library
  lifecycle: experimental
  owner: platform-team
`

// descriptorServer serves the two descriptors the script registers.
func descriptorServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, body := range map[string]string{
		"/probe/catalog-info.yaml":   probeYAML,
		"/dry-run/catalog-info.yaml": dryRunYAML,
	} {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			fmt.Fprint(w, body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// configYAML is merged by apptest over its base configuration (SQLite in a
// temporary folder, no demo, no periodic refresh).
func configYAML(demoRoot, readHost string) string {
	return fmt.Sprintf(`backend:
  reading:
    allow:
      - host: %[2]q
catalog:
  locations:
    - type: file
      target: %[1]q
  rules:
    - allow: [Component, API, Resource, System, Domain, Group, User, Location, Template]
  orphanStrategy: keep
atrium:
  allowedLocationTypes: [url]
`, demoRoot, readHost)
}

// waitForDemo polls until every demo entity is visible and one relation
// that needs stitching from the other side is there.
func waitForDemo(t *testing.T, baseURL string, exp expectations) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		last = demoReady(t.Context(), baseURL, exp)
		if last == "" {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("the demo catalog was not ingested within 2 minutes: %s", last)
}

// demoReady returns what is still missing, or "" when the catalog is ready.
func demoReady(ctx context.Context, baseURL string, exp expectations) string {
	var facets struct {
		Facets map[string][]struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		} `json:"facets"`
	}
	if err := getJSON(ctx, baseURL+"/api/catalog/entity-facets?facet=kind", &facets); err != nil {
		return err.Error()
	}
	got := map[string]int{}
	for _, f := range facets.Facets["kind"] {
		got[f.Value] = f.Count
	}
	for kind, n := range exp.Kinds {
		if got[kind] < n {
			return fmt.Sprintf("%s: %d of %d entities", kind, got[kind], n)
		}
	}
	var group struct {
		Relations []struct{ Type, TargetRef string } `json:"relations"`
	}
	if err := getJSON(ctx, baseURL+"/api/catalog/entities/by-name/group/default/tracking-team", &group); err != nil {
		return err.Error()
	}
	for _, r := range group.Relations {
		if r.Type == "ownerOf" && r.TargetRef == "component:default/tracking-service" {
			return ""
		}
	}
	return "group:default/tracking-team has no ownerOf relation to component:default/tracking-service yet"
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func TestBackstageCatalogClient(t *testing.T) {
	modules := installClient(t)
	exp := demoExpectations(t)

	demoDir := filepath.Join(t.TempDir(), "demo")
	if err := demo.Write(demoDir); err != nil {
		t.Fatal(err)
	}
	descriptors := descriptorServer(t)
	du, err := url.Parse(descriptors.URL)
	if err != nil {
		t.Fatal(err)
	}
	baseURL := apptest.Start(t, configYAML(filepath.Join(demoDir, demo.RootFile), du.Host))
	waitForDemo(t, baseURL, exp)

	// The script imports the packages by name, which Node resolves from the
	// script's own folder: run it next to a link to the installed modules.
	run := t.TempDir()
	script, err := os.ReadFile(filepath.Join("testdata", "contract.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(run, "contract.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(modules, "node_modules"), filepath.Join(run, "node_modules")); err != nil {
		t.Fatal(err)
	}
	expJSON, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "contract.mjs")
	cmd.Dir = run
	cmd.Env = append(os.Environ(),
		"ATRIUM_BASE_URL="+baseURL,
		"CONTRACT_DESCRIPTOR_URL="+descriptors.URL+"/probe/catalog-info.yaml",
		"CONTRACT_DRYRUN_URL="+descriptors.URL+"/dry-run/catalog-info.yaml",
		"CONTRACT_EXPECT="+string(expJSON),
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Backstage catalog client disagrees with Atrium (%v):\n%s", err, out)
	}
	var res struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.OK || len(res.Checks) == 0 {
		t.Fatalf("unexpected script output (%v):\n%s", err, out)
	}
	for _, c := range res.Checks {
		t.Logf("ok: %s", c.Name)
	}
}
