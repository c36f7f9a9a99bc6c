package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTechDocsLimits(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       TechDocs
		err        string
	}{
		{"defaults", "atrium: {}\n", techDocsDefaults(), ""},
		{"set", "atrium:\n  techdocs:\n    maxFiles: 10\n    maxFileBytes: 1MB\n    maxConcurrentBuilds: 4\n",
			TechDocs{MaxFiles: 10, MaxFileBytes: 1 << 20, MaxSiteBytes: 50 << 20, MaxConcurrentBuilds: 4, MaxSites: 200}, ""},
		{"unknown key", "atrium:\n  techdocs:\n    maxFile: 10\n", TechDocs{}, "atrium.techdocs.maxFile"},
		{"out of range", "atrium:\n  techdocs:\n    maxConcurrentBuilds: 0\n", TechDocs{}, "atrium.techdocs.maxConcurrentBuilds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "app-config.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load([]string{p}, map[string]string{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Atrium.TechDocs != tt.want {
				t.Errorf("got %+v, want %+v", cfg.Atrium.TechDocs, tt.want)
			}
		})
	}
}
