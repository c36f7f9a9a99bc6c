package engine

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/internal/store/testdb"
)

// openStore opens a migrated SQLite store in a temp dir.
func openStore(t testing.TB) *sqlite.DB {
	t.Helper()
	return testdb.SQLite(t)
}

// allKinds allows every built-in kind from anywhere.
func allKinds() *catalog.Rules {
	r := catalog.Rules{{Allow: []string{"Component", "API", "Location", "Group", "User", "System", "Domain", "Resource", "Template"}}}
	return &r
}

// newEngine returns an engine on a fresh store; cfg.Store, Rules and
// ProcessingInterval get test defaults when unset.
func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = openStore(t)
	}
	if cfg.Rules == nil {
		cfg.Rules = allKinds()
	}
	if cfg.ProcessingInterval == 0 {
		cfg.ProcessingInterval = -1
	}
	if cfg.EntityCacheWarmAfter == 0 {
		cfg.EntityCacheWarmAfter = -1 // tests that count store reads
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// refreshAll runs the built-in providers once.
func refreshAll(t testing.TB, e *Engine) {
	t.Helper()
	if err := e.RefreshAll(context.Background()); err != nil {
		t.Fatalf("RefreshAll: %v", err)
	}
}

// copyTree copies the testdata tree src into a new temp dir and returns it.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	return dst
}

// writeFile writes content to path, creating directories.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustEntity returns the entity ref names or fails.
func mustEntity(t testing.TB, e *Engine, ref string) *catalog.Entity {
	t.Helper()
	ent, err := e.EntityByRef(context.Background(), ref)
	if err != nil {
		t.Fatalf("EntityByRef(%s): %v", ref, err)
	}
	return ent
}

// absent fails unless ref is not in the catalog.
func absent(t testing.TB, e *Engine, ref string) {
	t.Helper()
	if ent, err := e.EntityByRef(context.Background(), ref); err == nil {
		t.Fatalf("EntityByRef(%s): got %s, want not found", ref, ent.Ref())
	}
}

func hasRelation(ent *catalog.Entity, typ, target string) bool {
	return slices.Contains(ent.Relations, catalog.Relation{Type: typ, TargetRef: target})
}

// statusMessages returns the messages of an entity's status items.
func statusMessages(ent *catalog.Entity) []string {
	if ent.Status == nil {
		return nil
	}
	var out []string
	for _, it := range ent.Status.Items {
		out = append(out, it.Message)
	}
	return out
}

// component is a minimal Component descriptor.
func component(name, owner string) string {
	return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name +
		"\nspec:\n  type: service\n  lifecycle: production\n  owner: " + owner + "\n"
}
