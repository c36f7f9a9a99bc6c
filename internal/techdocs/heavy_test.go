package techdocs

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/demo"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/heavy"
)

// TestBuildSlot: a build takes a slot of atrium.limits.heavy.techdocs; with
// none free it is refused as Unavailable with a Retry-After hint, and a
// built site is served afterwards without a slot.
func TestBuildSlot(t *testing.T) {
	dir := t.TempDir()
	if err := demo.Write(dir); err != nil {
		t.Fatal(err)
	}
	lim := heavy.New(map[string]heavy.Bound{"techdocs": {Concurrency: 1}})
	f := &fakeCatalog{byRef: map[string]*catalog.Entity{}}
	svc := New(Params{Catalog: f, Logger: slog.New(slog.DiscardHandler), Acquire: func(ctx context.Context) (func(), error) {
		return lim.Acquire(ctx, "techdocs")
	}})
	ref := f.entity("tracking-service", filepath.Join(dir, "components/tracking-service/catalog-info.yaml"), filepath.Join(dir, demo.RootFile), "dir:.")

	held, err := lim.Acquire(context.Background(), "techdocs")
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Site(context.Background(), ref)
	if !fault.Is(err, fault.Unavailable) {
		t.Fatalf("a build with no slot free: got %v, want Unavailable", err)
	}
	if d, ok := heavy.RetryAfter(err); !ok || d < time.Second {
		t.Errorf("Retry-After hint: got %v %v, want at least 1s", d, ok)
	}
	held()
	if _, err := svc.Site(context.Background(), ref); err != nil {
		t.Fatalf("a build with the slot free: %v", err)
	}
	held, _ = lim.Acquire(context.Background(), "techdocs")
	defer held()
	if _, err := svc.Site(context.Background(), ref); err != nil {
		t.Errorf("a built site needs no slot: %v", err)
	}
}
