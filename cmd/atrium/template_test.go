package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTemplateDryRun(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "scaffolder", "testdata", "templates", "basic", "template.yaml")
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, []byte("name: payments\nwithDocs: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"template", "dry-run", tpl, "--values", values, "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("got exit %d, want 0\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"[fetch] Beginning step Fetch skeleton", "[docs] docs for payments", "Run completed with status: completed", "wrote 3 files"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("log: got %s, want it to contain %q", stdout.String(), want)
		}
	}
	readme, err := os.ReadFile(filepath.Join(out, "payments", "README.md"))
	if err != nil || string(readme) != "# payments\nhas docs\n" {
		t.Errorf("README.md: got %q, %v", readme, err)
	}

	if err := os.WriteFile(values, []byte("name: Bad Name\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"template", "dry-run", tpl, "--values", values}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "instance.name: 'Bad Name' does not match pattern") {
		t.Errorf("invalid values: got exit %d, stderr %q, want 1 and the pattern error", code, stderr.String())
	}
	code = run(context.Background(), []string{"template", "dry-run"}, &stdout, &stderr)
	if code != 2 {
		t.Errorf("no template: got exit %d, want 2", code)
	}
}

// TestTemplateDryRunIntegrations: a template using the integration
// plugins' actions (the demo's golden path: GitLab, Terraform, Azure,
// OpenShift, AWX) dry-runs from the command line against their simulators,
// every step saying what it would do.
func TestTemplateDryRunIntegrations(t *testing.T) {
	tpl := filepath.Join("..", "..", "internal", "demo", "catalog", "templates", "golden-path", "template.yaml")
	dir := t.TempDir()
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, []byte("name: parcel-db\nowner: group:default/platform-team\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"template", "dry-run", tpl, "--values", values, "--out", filepath.Join(dir, "out")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("got exit %d, want 0\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"[publish] dry run: would create project demo/parcel-db",
		"[workspace] dry run: would ensure workspace",
		"[resourceGroup] dry run: would ensure resource group rg-parcel-db",
		"[project] dry run: would create the project parcel-db",
		"[monitoring] dry run: the template was found; nothing is launched",
		"[register] dry run: would register",
		"Run completed with status: completed",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("log: want it to contain %q\n%s", want, stdout.String())
		}
	}
}
