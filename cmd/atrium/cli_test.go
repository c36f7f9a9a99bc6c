package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

const validComponent = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
spec:
  type: service
  lifecycle: production
  owner: team-a
`

const invalidComponent = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
spec:
  type: service
  lifecycle: production
`

func runCLI(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"catalog"}, 2, "catalog needs a subcommand"},
		{[]string{"catalog", "list"}, 2, `unknown catalog subcommand "list"`},
		{[]string{"catalog", "validate"}, 2, "needs at least one FILE or DIR"},
		{[]string{"catalog", "validate", "--output", "xml", "x"}, 2, "--output must be text or json"},
		{[]string{"catalog", "import", "dir"}, 2, "needs --config FILE"},
		{[]string{"serve", "--nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"serve", "extra"}, 2, "serve takes no arguments"},
		{[]string{"serve", "--config", "/does/not/exist.yaml"}, 1, "reading configuration"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("%v: got %d %q, want %d and %q", tt.args, code, stderr, tt.code, tt.stderr)
		}
	}
	if code, out, _ := runCLI(t, "help"); code != 0 || !strings.Contains(out, "atrium catalog validate") {
		t.Errorf("help: got %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "atrium ") {
		t.Errorf("version: got %d %q", code, out)
	}
}

func TestServeConfigError(t *testing.T) {
	dir := apptest.WriteFiles(t, map[string]string{"app-config.yaml": "catalog:\n  orphanStratgy: keep\n"})
	code, _, stderr := runCLI(t, "serve", "--config", filepath.Join(dir, "app-config.yaml"))
	if code != 1 || !strings.Contains(stderr, "app-config.yaml:2: catalog.orphanStratgy: unknown key") {
		t.Errorf("got %d %q", code, stderr)
	}
}

func TestValidate(t *testing.T) {
	dir := apptest.WriteFiles(t, map[string]string{
		"good/catalog-info.yaml":   validComponent,
		"bad/catalog-info.yaml":    invalidComponent,
		"bad/.hidden/ignored.yaml": "not: [valid",
		"bad/readme.md":            "not a descriptor",
	})
	code, out, _ := runCLI(t, "catalog", "validate", filepath.Join(dir, "good"))
	if code != 0 || out != "" {
		t.Errorf("good: got %d %q, want 0 and no output", code, out)
	}
	bad := filepath.Join(dir, "bad", "catalog-info.yaml")
	code, out, stderr := runCLI(t, "catalog", "validate", filepath.Join(dir, "bad"))
	if want := bad + ":5: spec.owner: "; code != 1 || !strings.HasPrefix(out, want) {
		t.Errorf("bad: got %d %q, want 1 and a line starting %q", code, out, want)
	}
	if !strings.Contains(stderr, "1 problem(s) found") {
		t.Errorf("bad stderr: got %q", stderr)
	}
	code, out, _ = runCLI(t, "catalog", "validate", bad, "--output", "json")
	var res struct {
		Valid    bool `json:"valid"`
		Problems []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("json output %q: %v", out, err)
	}
	if code != 1 || res.Valid || len(res.Problems) != 1 || res.Problems[0].Field != "spec.owner" || res.Problems[0].File != bad {
		t.Errorf("json: got %d %+v", code, res)
	}
	code, out, _ = runCLI(t, "catalog", "validate", "--output=json", filepath.Join(dir, "good"))
	if code != 0 || !strings.Contains(out, `"valid": true`) || !strings.Contains(out, `"problems": []`) {
		t.Errorf("json good: got %d %q", code, out)
	}
	code, out, _ = runCLI(t, "catalog", "validate", filepath.Join(dir, "missing"))
	if code != 1 || !strings.Contains(out, "missing") {
		t.Errorf("missing path: got %d %q", code, out)
	}
}

func TestImport(t *testing.T) {
	dir := apptest.WriteFiles(t, map[string]string{
		"descriptors/a.yaml":     validComponent,
		"descriptors/sub/b.yaml": strings.Replace(validComponent, "name: payments", "name: ledger", 1),
	})
	cfg := filepath.Join(dir, "app-config.yaml")
	content := "backend:\n  database:\n    client: sqlite\n    connection: " + filepath.Join(dir, "atrium.db") + "\natrium:\n  dataDir: " + filepath.Join(dir, "data") + "\n"
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "catalog", "import", "--config", cfg, filepath.Join(dir, "descriptors"))
	if code != 0 || !strings.Contains(out, "the catalog now holds 2 entities") {
		t.Errorf("import: got %d %q %q", code, out, stderr)
	}
	if err := os.WriteFile(filepath.Join(dir, "descriptors", "bad.yaml"), []byte(strings.Replace(invalidComponent, "name: payments", "name: broken", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "catalog", "import", "--config", cfg, filepath.Join(dir, "descriptors"))
	if code != 1 || !strings.Contains(out, "spec.owner") {
		t.Errorf("import with a bad file: got %d %q", code, out)
	}
}
