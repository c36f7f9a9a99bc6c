package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPolicySources checks that policy files are resolved against the
// configuration file's directory while policy URLs are kept as they are,
// and that a malformed URL is refused naming its key.
func TestPolicySources(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app-config.yaml")
	yaml := "permission:\n  policies: [policies/catalog.yaml, \"https://git.example.com/p/raw/main/policy.yaml\"]\n" +
		"atrium:\n  authz:\n    urlRefreshInterval: 30s\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "policies/catalog.yaml"), "https://git.example.com/p/raw/main/policy.yaml"}
	if got := cfg.Atrium.Authz.Policies; !slices.Equal(got, want) {
		t.Errorf("policies: got %v, want %v", got, want)
	}
	if got, want := cfg.Atrium.Authz.URLRefreshInterval, 30*time.Second; got != want {
		t.Errorf("urlRefreshInterval: got %v, want %v", got, want)
	}
	if !IsPolicyURL(want[1]) || IsPolicyURL(want[0]) {
		t.Errorf("IsPolicyURL tells files from URLs wrongly")
	}

	_, err = LoadBytes("c.yaml", []byte("permission:\n  policies: [\"https://\"]\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "permission.policies") || !strings.Contains(err.Error(), "not a valid http(s) URL") {
		t.Errorf("a URL without a host: got %v, want an error naming permission.policies", err)
	}
}
