package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/bench/gen"
	"github.com/atrium-portal/atrium/internal/catalog"
)

// benchEntities generates n entities with about five relations each:
// groups, users in groups, systems, APIs and components that own, provide,
// consume and depend.
func benchEntities(n int) []Deferred {
	anns := func(i int) map[string]any {
		return map[string]any{
			catalog.AnnotationManagedByLocation:       fmt.Sprintf("bench:file-%d", i/100),
			catalog.AnnotationManagedByOriginLocation: "bench:root",
		}
	}
	groups := max(n/50, 1)
	out := make([]Deferred, 0, n)
	for i := 0; len(out) < n; i++ {
		var raw map[string]any
		switch {
		case i < groups:
			raw = map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
				"metadata": map[string]any{"name": fmt.Sprintf("team-%d", i), "annotations": anns(i)},
				"spec":     map[string]any{"type": "team", "children": []any{}}}
		case i%10 == 0:
			raw = map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "User",
				"metadata": map[string]any{"name": fmt.Sprintf("user-%d", i), "annotations": anns(i)},
				"spec":     map[string]any{"memberOf": []any{fmt.Sprintf("team-%d", i%groups)}}}
		case i%10 == 1:
			raw = map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "System",
				"metadata": map[string]any{"name": fmt.Sprintf("system-%d", i), "annotations": anns(i)},
				"spec":     map[string]any{"owner": fmt.Sprintf("team-%d", i%groups)}}
		case i%10 == 2 || i%10 == 3:
			raw = map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "API",
				"metadata": map[string]any{"name": fmt.Sprintf("api-%d", i), "annotations": anns(i), "tags": []any{"rest"}},
				"spec": map[string]any{"type": "openapi", "lifecycle": "production", "owner": fmt.Sprintf("team-%d", i%groups),
					"system": fmt.Sprintf("system-%d", i-i%10+1), "definition": "openapi: 3.0.0"}}
		default:
			raw = map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
				"metadata": map[string]any{"name": fmt.Sprintf("service-%d", i), "annotations": anns(i),
					"description": "A service of the benchmark catalog", "tags": []any{"go", "backend"}},
				"spec": map[string]any{"type": "service", "lifecycle": "production", "owner": fmt.Sprintf("team-%d", i%groups),
					"system":       fmt.Sprintf("system-%d", i-i%10+1),
					"providesApis": []any{fmt.Sprintf("api-%d", i-i%10+2)},
					"consumesApis": []any{fmt.Sprintf("api-%d", i-i%10+3)},
					"dependsOn":    []any{fmt.Sprintf("component:service-%d", i-i%10+4)}}}
		}
		out = append(out, Deferred{Document: catalog.Document{Raw: raw}, LocationKey: fmt.Sprintf("bench:file-%d", i/100)})
	}
	return out
}

// BenchmarkIngest10k ingests 10k generated entities into a fresh SQLite
// database through a provider's full mutation, then checks one is there.
func BenchmarkIngest10k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		e := newEngine(b, Config{})
		ents := benchEntities(10000)
		conn := &connection{e: e, name: "bench"}
		b.StartTimer()
		if err := conn.ApplyMutation(ctx, Mutation{Type: MutationFull, Entities: ents}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		mustEntity(b, e, "component:default/service-214")
		b.StartTimer()
	}
}

// BenchmarkIngestFiles10k ingests the benchmark harness's 10k-entity
// catalog (YAML files under one root Location) as a static location, then
// runs a second, unchanged pass (reported as unchanged-s).
func BenchmarkIngestFiles10k(b *testing.B) { benchIngestFiles(b, 10000) }

// BenchmarkIngestFiles100k is BenchmarkIngestFiles10k at 100k entities.
func BenchmarkIngestFiles100k(b *testing.B) {
	if testing.Short() {
		b.Skip("100k entities take minutes")
	}
	benchIngestFiles(b, 100000)
}

func benchIngestFiles(b *testing.B, n int) {
	dir := b.TempDir()
	if err := gen.Generate(dir, n, 1); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		e := newEngine(b, Config{
			Limits:          Limits{MaxEntitiesPerLocation: 2 * n},
			StaticLocations: []StaticLocation{{Type: "file", Target: filepath.Join(dir, "all.yaml")}},
		})
		b.StartTimer()
		refreshAll(b, e)
		b.StopTimer()
		b.ReportMetric(float64(e.Stats().FilesParsed), "files")
		// The unchanged pass, as the periodic refresh runs it.
		start := time.Now()
		b.StartTimer()
		refreshAll(b, e)
		b.StopTimer()
		b.ReportMetric(time.Since(start).Seconds(), "unchanged-s")
		b.StartTimer()
	}
}
