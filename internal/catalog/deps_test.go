package catalog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the domain free of HTTP, SQL and the network: it
// may use the standard library's pure packages, the fault package and the
// YAML parser only.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"net/http", "database/sql", "os/exec", "net/rpc", "net/smtp"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("internal/catalog depends on %s", dep)
			}
		}
		if strings.Contains(dep, ".") && !strings.HasPrefix(dep, "github.com/atrium-portal/atrium/") && dep != "go.yaml.in/yaml/v3" && !strings.HasPrefix(dep, "vendor/") {
			t.Errorf("internal/catalog depends on third-party module package %s", dep)
		}
		if strings.HasPrefix(dep, "github.com/atrium-portal/atrium/") {
			switch dep {
			case "github.com/atrium-portal/atrium/internal/catalog", "github.com/atrium-portal/atrium/internal/fault":
			default:
				t.Errorf("internal/catalog depends on %s", dep)
			}
		}
	}
}
