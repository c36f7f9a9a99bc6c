package deptest

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden lists, per package, the import paths (or prefixes ending in
// "/") it must not depend on, directly or indirectly.
var forbidden = map[string][]string{
	"github.com/atrium-portal/atrium/internal/catalog": {
		"net/http",
		"database/sql",
		"github.com/jackc/pgx/",
		"modernc.org/sqlite",
		"github.com/atrium-portal/atrium/internal/store",
		"github.com/atrium-portal/atrium/internal/engine",
		"github.com/atrium-portal/atrium/internal/web",
	},
	"github.com/atrium-portal/atrium/internal/fault": {
		"net/http",
		"database/sql",
	},
	"github.com/atrium-portal/atrium/internal/config": {
		"net/http",
		"database/sql",
	},
}

func deps(t testing.TB, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

func TestForbiddenDependencies(t *testing.T) {
	for pkg, bad := range forbidden {
		for _, dep := range deps(t, pkg) {
			for _, b := range bad {
				if dep == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b)) || strings.HasPrefix(dep, b+"/") {
					t.Errorf("%s depends on %s, which it must not", pkg, dep)
				}
			}
		}
	}
}
