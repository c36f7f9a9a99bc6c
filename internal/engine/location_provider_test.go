package engine

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/plugin"
)

// staticComponent writes a catalog-info.yaml with one component and
// returns an engine whose only static location is that file.
func staticComponent(t *testing.T, name, description string) (*Engine, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog-info.yaml")
	writeFile(t, path, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: "+name+"\n  description: "+description+
		"\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n")
	return newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: path}}}), path
}

// TestLocationProvidersArePluginProviders runs the catalog's own location
// providers as plain plugin.EntityProviders and through the engine.
func TestLocationProvidersArePluginProviders(t *testing.T) {
	e, path := staticComponent(t, "static-one", "from the file")
	provs := e.LocationProviders()
	var names []string
	for _, p := range provs {
		names = append(names, p.Name())
	}
	if want := []string{ConfigProviderName, DatabaseProviderName}; !slices.Equal(names, want) {
		t.Fatalf("LocationProviders() = %v, want %v", names, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []plugin.Mutation
	if err := provs[0].Run(ctx, func(_ context.Context, m plugin.Mutation) error {
		got = append(got, m)
		cancel()
		return nil
	}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) != 1 || got[0].Type != plugin.MutationFull || len(got[0].Entities) != 1 {
		t.Fatalf("config provider emitted %+v, want one full mutation of one entity", got)
	}
	key := "file:" + path
	if !slices.Equal(got[0].LocationKeys, []string{key}) {
		t.Errorf("LocationKeys = %v, want [%s]", got[0].LocationKeys, key)
	}
	var loc struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct{ Type, Target string } `json:"spec"`
	}
	if err := json.Unmarshal(got[0].Entities[0], &loc); err != nil {
		t.Fatal(err)
	}
	anns := loc.Metadata.Annotations
	if loc.Kind != "Location" || loc.Spec.Target != path || anns[catalog.AnnotationManagedByLocation] != key || anns[catalog.AnnotationManagedByOriginLocation] != OriginBootstrap {
		t.Errorf("emitted entity = %+v, want the Location of %s managed by %s from %s", loc, path, key, OriginBootstrap)
	}

	// The engine consumes them through the plugin adapter: the Location's
	// target is followed.
	refreshAll(t, e)
	if got := mustEntity(t, e, "component:default/static-one").Metadata.Description; got != "from the file" {
		t.Errorf("static-one description = %q, want %q", got, "from the file")
	}
	// The built-in plugin wires them like any plugin's providers: adding
	// them again changes nothing, and they cannot be removed.
	before := len(e.providers)
	for _, p := range provs {
		pp := &PluginProvider{PluginID: "catalog-locations", Provider: p}
		if err := e.AddProvider(pp); err != nil {
			t.Errorf("AddProvider(%s): %v", pp.Name(), err)
		}
		if err := e.RemoveProvider(context.Background(), pp.Name()); err == nil {
			t.Errorf("RemoveProvider(%s) succeeded, want it refused", pp.Name())
		}
	}
	if len(e.providers) != before {
		t.Errorf("providers: %d after adding the built-ins again, want %d", len(e.providers), before)
	}
}

// keyless is a plugin provider that the tests drive through its adapter.
type keyless struct{}

func (keyless) Name() string { return "thief" }
func (keyless) Run(ctx context.Context, _ func(context.Context, plugin.Mutation) error) error {
	<-ctx.Done()
	return nil
}

// TestPluginLocationKeys: a plugin's location keys own its entities (the
// first wins) but are kept apart from catalog locations' keys, so a
// plugin cannot take over a location's entity by naming its key.
func TestPluginLocationKeys(t *testing.T) {
	e, path := staticComponent(t, "static-one", "from the file")
	refreshAll(t, e)
	ctx := context.Background()
	pp := &PluginProvider{PluginID: "x", Provider: keyless{}}
	conn := &connection{e: e, name: pp.Name()}
	comp := func(name, description string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{
			"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
			"metadata": map[string]any{"name": name, "description": description, "annotations": map[string]any{
				catalog.AnnotationManagedByLocation: "url:https://x.example/", catalog.AnnotationManagedByOriginLocation: "url:https://x.example/"}},
			"spec": map[string]any{"type": "service", "lifecycle": "production", "owner": "team-a"},
		})
		return b
	}
	m, err := pp.mutation(plugin.Mutation{
		Type:         plugin.MutationFull,
		Entities:     []json.RawMessage{comp("static-one", "stolen"), comp("keyed", "first"), comp("keyed", "second")},
		LocationKeys: []string{"file:" + path, "a", "b"},
	})
	if err != nil {
		t.Fatalf("mutation: %v", err)
	}
	if got, want := m.Entities[0].LocationKey, "plugin:x:thief:file:"+path; got != want {
		t.Errorf("location key of the plugin's entity = %q, want %q", got, want)
	}
	if err := conn.ApplyMutation(ctx, m); err != nil {
		t.Fatalf("ApplyMutation: %v", err)
	}
	if got := mustEntity(t, e, "component:default/static-one").Metadata.Description; got != "from the file" {
		t.Errorf("static-one description = %q: a plugin took over a location's entity", got)
	}
	if got := mustEntity(t, e, "component:default/keyed").Metadata.Description; got != "first" {
		t.Errorf("keyed description = %q, want the first location key's %q", got, "first")
	}
	_, err = pp.mutation(plugin.Mutation{Type: plugin.MutationFull, Entities: []json.RawMessage{comp("a", ""), comp("b", "")}, LocationKeys: []string{"k"}})
	if plugin.KindOf(err) != plugin.ErrInvalid {
		t.Errorf("one location key for two entities: err = %v, want ErrInvalid", err)
	}
}
