package engine

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// testProvider keeps its connection so tests can apply mutations.
type testProvider struct {
	name string
	conn chan Connection
}

func (p *testProvider) Name() string { return p.name }

func (p *testProvider) Connect(ctx context.Context, conn Connection) error {
	p.conn <- conn
	return nil
}

// providedGroup is a Group as a provider emits it, with its annotations.
func providedGroup(name string, annotated bool) Deferred {
	md := map[string]any{"name": name}
	if annotated {
		md["annotations"] = map[string]any{
			catalog.AnnotationManagedByLocation:       "test:" + name,
			catalog.AnnotationManagedByOriginLocation: "test:origin",
		}
	}
	b, _ := json.Marshal(map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": md,
		"spec": map[string]any{"type": "team", "children": []any{}},
	})
	return Deferred{Entity: b, LocationKey: "test:" + name}
}

// connect runs e and returns the connection of a test provider.
func connect(t testing.TB, e *Engine, name string) Connection {
	t.Helper()
	p := &testProvider{name: name, conn: make(chan Connection, 1)}
	if err := e.AddProvider(p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	<-e.Ready()
	return <-p.conn
}

func TestProviderMutations(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, Config{})
	conn := connect(t, e, "groups")

	err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: []Deferred{
		providedGroup("a", true), providedGroup("b", true), providedGroup("unannotated", false),
	}})
	if err != nil {
		t.Fatal(err)
	}
	mustEntity(t, e, "group:default/a")
	mustEntity(t, e, "group:default/b")
	absent(t, e, "group:default/unannotated")

	// Full: b is missing, so it is deleted at once.
	if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: []Deferred{providedGroup("a", true)}}); err != nil {
		t.Fatal(err)
	}
	absent(t, e, "group:default/b")

	// Delta: add c, remove a; nothing else changes.
	if err := conn.ApplyMutation(ctx, Mutation{Type: MutationDelta,
		Entities: []Deferred{providedGroup("c", true)},
		Removed:  []Deferred{{Ref: "group:a"}},
	}); err != nil {
		t.Fatal(err)
	}
	absent(t, e, "group:default/a")
	mustEntity(t, e, "group:default/c")

	anc, err := e.Ancestry(ctx, "group:default/c")
	if err != nil || len(anc.Items) != 1 || len(anc.Items[0].ParentEntityRefs) != 0 {
		t.Errorf("ancestry of a provider entity: got %+v %v, want itself without parents", anc, err)
	}
	if err := conn.ApplyMutation(ctx, Mutation{Type: "sideways"}); err == nil {
		t.Errorf("unknown mutation type: got no error")
	}
}

func TestProviderLocationsAreFollowed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	writeFile(t, file, component("from-provider", "t"))
	e := newEngine(t, Config{})
	conn := connect(t, e, "discovery")
	loc := catalog.LocationRef{Type: "file", Target: file}
	doc := locationDocument(loc, loc.String())
	if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: []Deferred{{Document: doc, LocationKey: loc.String()}}}); err != nil {
		t.Fatal(err)
	}
	mustEntity(t, e, "component:default/from-provider")

	if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull}); err != nil {
		t.Fatal(err)
	}
	absent(t, e, "component:default/from-provider")
	absent(t, e, generatedRef(loc))
}

func TestRefreshRereadsTheLocation(t *testing.T) {
	ctx := context.Background()
	dir := copyTree(t, "testdata/basic")
	e := newEngine(t, Config{BaseDir: dir, StaticLocations: []StaticLocation{{Type: "file", Target: "catalog-info.yaml"}}})
	refreshAll(t, e)
	writeFile(t, filepath.Join(dir, "components", "web.yaml"), component("web", "team-new"))
	if err := e.Refresh(ctx, "Component:default/Web"); err != nil {
		t.Fatal(err)
	}
	if ent := mustEntity(t, e, "component:default/web"); !hasRelation(ent, "ownedBy", "group:default/team-new") {
		t.Errorf("after refresh: relations %v, want ownedBy team-new", ent.Relations)
	}
	// web-admin left web.yaml: with the default strategy it is deleted.
	absent(t, e, "component:default/web-admin")
	if err := e.Refresh(ctx, "component:default/nope"); !fault.Is(err, fault.NotFound) {
		t.Errorf("refresh unknown: got %v, want NotFoundError", err)
	}
	// Refreshing a deeper Location applies its root's rules and keeps edges.
	if err := e.Refresh(ctx, "location:default/basic"); err != nil {
		t.Fatal(err)
	}
	mustEntity(t, e, "component:default/payments")
	anc, err := e.Ancestry(ctx, "location:default/basic")
	if err != nil || len(anc.Items) != 2 {
		t.Errorf("ancestry of basic after its refresh: got %+v %v, want it and its root", anc, err)
	}
}

func TestDeleteByUID(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	writeFile(t, file, component("c", "t"))
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
	refreshAll(t, e)
	ent := mustEntity(t, e, "component:default/c")
	if err := e.DeleteByUID(ctx, ent.Metadata.UID); err != nil {
		t.Fatal(err)
	}
	absent(t, e, "component:default/c")
	if err := e.DeleteByUID(ctx, ent.Metadata.UID); err != nil {
		t.Errorf("delete absent: got %v, want nil", err)
	}
	if _, err := e.EntityByUID(ctx, ent.Metadata.UID); !fault.Is(err, fault.NotFound) || fault.MessageOf(err) != "No entity with uid "+ent.Metadata.UID {
		t.Errorf("EntityByUID: got %v, want NotFoundError", err)
	}
	// A live entity comes back on its parent's next processing.
	refreshAll(t, e)
	if again := mustEntity(t, e, "component:default/c"); again.Metadata.UID == ent.Metadata.UID {
		t.Errorf("recreated entity kept uid %s, want a new one", again.Metadata.UID)
	}
}

func TestReadMethods(t *testing.T) {
	ctx := context.Background()
	dir := copyTree(t, "testdata/basic")
	e := newEngine(t, Config{BaseDir: dir, StaticLocations: []StaticLocation{{Type: "file", Target: "catalog-info.yaml"}}})
	refreshAll(t, e)

	_, err := e.EntityByRef(ctx, "component:default/missing")
	if want := "No entity named 'missing' found, with kind 'component' in namespace 'default'"; !fault.Is(err, fault.NotFound) || fault.MessageOf(err) != want {
		t.Errorf("missing: got %v, want NotFoundError %q", err, want)
	}
	if _, err := e.EntityByRef(ctx, "no-kind"); !fault.Is(err, fault.Invalid) {
		t.Errorf("ref without kind: got %v, want InputError", err)
	}
	got, err := e.EntitiesByRefs(ctx, []string{"component:web", "bad::", "component:default/missing", "API:default/payments-api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] == nil || got[1] != nil || got[2] != nil || got[3] == nil || got[3].Kind != "API" {
		t.Errorf("EntitiesByRefs: got %v, want [web nil nil payments-api]", got)
	}
	filtered, err := e.EntitiesByRefs(ctx, []string{"component:web", "api:payments-api"}, catalog.In("kind", "api"))
	if err != nil || filtered[0] != nil || filtered[1] == nil {
		t.Errorf("EntitiesByRefs filtered: got %v %v, want [nil payments-api]", filtered, err)
	}

	page, err := e.Entities(ctx, Query{Filter: catalog.In("kind", "component"), Order: &store.Order{Field: "metadata.name"}, Limit: 2, CountTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || !page.HasMore || page.Total != 3 || page.Items[0].Metadata.Name != "payments" || page.Last == nil {
		t.Fatalf("page 1: got %d items more=%v total=%d, want payments, web of 3", len(page.Items), page.HasMore, page.Total)
	}
	page2, err := e.Entities(ctx, Query{Filter: catalog.In("kind", "component"), Order: &store.Order{Field: "metadata.name"}, Limit: 2, After: page.Last})
	if err != nil || len(page2.Items) != 1 || page2.Items[0].Metadata.Name != "web-admin" {
		t.Errorf("page 2: got %v %v, want web-admin", page2, err)
	}

	facets, err := e.Facets(ctx, []string{"kind"}, nil)
	if err != nil || len(facets["kind"]) == 0 {
		t.Errorf("facets: got %v %v", facets, err)
	}
	if _, err := e.Facets(ctx, nil, nil); !fault.Is(err, fault.Invalid) {
		t.Errorf("no facets: got %v, want InputError", err)
	}
	hits, err := e.Search(ctx, store.EntitySearchParams{Query: "money", Limit: 10})
	if err != nil || len(hits) != 1 || hits[0].Metadata.Name != "payments" {
		t.Errorf("search: got %v %v, want payments", hits, err)
	}
}

func TestRunRefreshesPeriodically(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	writeFile(t, file, component("first", "t"))
	e := newEngine(t, Config{ProcessingInterval: time.Millisecond, StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
	events, cancel := e.Subscribe(64)
	defer cancel()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	<-e.Ready()
	mustEntity(t, e, "component:default/first")
	writeFile(t, file, component("second", "t"))
	for ev := range events {
		if ev.Kind == ChangeUpsert && len(ev.Refs) == 1 && ev.Refs[0] == "component:default/second" {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

func TestSubscriberOverflow(t *testing.T) {
	e := newEngine(t, Config{})
	ch, cancel := e.Subscribe(1)
	e.subs.publish(ChangeUpsert, []string{"a"})
	e.subs.publish(ChangeUpsert, []string{"b"}) // dropped
	if ev := <-ch; ev.Overflow || ev.Refs[0] != "a" {
		t.Errorf("first: got %+v, want a without overflow", ev)
	}
	e.subs.publish(ChangeDelete, []string{"c"})
	if ev := <-ch; !ev.Overflow || ev.Refs[0] != "c" {
		t.Errorf("after a drop: got %+v, want c with overflow", ev)
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Errorf("channel still open after cancel")
	}
}

func TestConnectionRefreshByLocationKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	writeFile(t, file, component("before", "t"))
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: file}}})
	conn := connect(t, e, "webhooks")
	mustEntity(t, e, "component:default/before")

	writeFile(t, file, component("after", "t"))
	if err := conn.Refresh(ctx, []string{"file:" + file}); err != nil {
		t.Fatal(err)
	}
	mustEntity(t, e, "component:default/after")
	absent(t, e, "component:default/before")

	writeFile(t, file, component("again", "t"))
	if err := conn.Refresh(ctx, []string{"component:default/after", "component:default/unknown"}); err != nil {
		t.Fatal(err)
	}
	mustEntity(t, e, "component:default/again")
}
