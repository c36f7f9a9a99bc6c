package locations_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/store/testdb"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins/locations"
)

// TestLocationsPlugin runs the catalog's location providers through the
// plugin interface, in-process and over gRPC: the location keys that own
// the Location entities survive the wire.
func TestLocationsPlugin(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	target := filepath.Join(t.TempDir(), "catalog-info.yaml")
	e, err := engine.New(engine.Config{Store: db, ProcessingInterval: -1, StaticLocations: []engine.StaticLocation{{Type: "file", Target: target}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })

	if err := locations.New(nil).Validate(ctx); plugin.KindOf(err) != plugin.ErrInternal {
		t.Errorf("Validate without providers: err = %v, want ErrInternal", err)
	}
	plugintest.Both(t, locations.New(e.LocationProviders()), func(t *testing.T, p plugin.Plugin) {
		plugintest.Provision(t, p, nil)
		var names []string
		for _, pr := range p.Components().Providers {
			names = append(names, pr.Name())
		}
		if want := []string{engine.ConfigProviderName, engine.DatabaseProviderName}; !slices.Equal(names, want) {
			t.Fatalf("providers = %v, want %v", names, want)
		}
		m := plugintest.Mutations(t, p, engine.ConfigProviderName, 1, 30*time.Second)[0]
		if m.Type != plugin.MutationFull || len(m.Entities) != 1 || !slices.Equal(m.LocationKeys, []string{"file:" + target}) {
			t.Errorf("mutation = %s %d entities, keys %v; want full, 1 entity, keys [file:%s]", m.Type, len(m.Entities), m.LocationKeys, target)
		}
		m = plugintest.Mutations(t, p, engine.DatabaseProviderName, 1, 30*time.Second)[0]
		if m.Type != plugin.MutationFull || len(m.Entities) != 0 {
			t.Errorf("database provider with no registered location: %s %d entities, want full and empty", m.Type, len(m.Entities))
		}
	})
}
