package graph

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

// fakeCatalog answers EntitiesByRefs from a map; other methods are not used.
type fakeCatalog struct {
	engine.Catalog
	byRef map[string]*catalog.Entity
	calls int
}

func (f *fakeCatalog) EntitiesByRefs(_ context.Context, refs []string, _ *catalog.Filter) ([]*catalog.Entity, error) {
	f.calls++
	out := make([]*catalog.Entity, len(refs))
	for i, r := range refs {
		out[i] = f.byRef[r]
	}
	return out, nil
}

// relate adds a relation and its inverse, as the engine's stitching does.
func (f *fakeCatalog) relate(from, typ, to string) {
	f.byRef[from].Relations = append(f.byRef[from].Relations, catalog.Relation{Type: typ, TargetRef: to})
	if e := f.byRef[to]; e != nil {
		e.Relations = append(e.Relations, catalog.Relation{Type: inverse[typ], TargetRef: from})
	}
}

func (f *fakeCatalog) add(kind, name, title string) string {
	e := &catalog.Entity{Kind: kind, Metadata: catalog.Metadata{Name: name, Namespace: "default", Title: title}}
	ref := e.Ref().String()
	f.byRef[ref] = e
	return ref
}

// newSystem builds a system with n components, owned by 4 groups, each
// component depending on the next, and one API per 5 components.
func newSystem(tb testing.TB, n int) *fakeCatalog {
	tb.Helper()
	f := &fakeCatalog{byRef: map[string]*catalog.Entity{}}
	sys := f.add("System", "shipping", "Shipping")
	var groups []string
	for g := range 4 {
		groups = append(groups, f.add("Group", fmt.Sprintf("team-%d", g), ""))
	}
	f.relate(sys, catalog.RelationOwnedBy, groups[0])
	var comps []string
	for i := range n {
		c := f.add("Component", fmt.Sprintf("service-%02d", i), fmt.Sprintf("Service %d", i))
		comps = append(comps, c)
		f.relate(c, catalog.RelationPartOf, sys)
		f.relate(c, catalog.RelationOwnedBy, groups[i%len(groups)])
		if i > 0 {
			f.relate(comps[i-1], catalog.RelationDependsOn, c)
		}
		if i%5 == 0 {
			a := f.add("API", fmt.Sprintf("api-%02d", i), "")
			f.relate(c, catalog.RelationProvidesAPI, a)
			f.relate(a, catalog.RelationPartOf, sys)
		}
	}
	return f
}

func TestRenderDeterministic(t *testing.T) {
	ctx := context.Background()
	f := newSystem(t, 30)
	first, err := Render(ctx, f, "system:default/shipping", Options{Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Relation order in the store must not change the drawing.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, e := range f.byRef {
		rng.Shuffle(len(e.Relations), func(i, j int) { e.Relations[i], e.Relations[j] = e.Relations[j], e.Relations[i] })
	}
	second, err := Render(ctx, f, "System:default/Shipping", Options{Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("got different drawings for the same graph")
	}
}

func TestLayoutNoOverlaps(t *testing.T) {
	f := newSystem(t, 50)
	g, err := Fetch(context.Background(), f, "system:default/shipping", Options{Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) < 60 {
		t.Fatalf("got %d nodes, want at least 60", len(g.Nodes))
	}
	d := Layout(g)
	for i := range d.Nodes {
		for j := i + 1; j < len(d.Nodes); j++ {
			if d.Nodes[i].Box.Overlaps(d.Nodes[j].Box) {
				t.Errorf("nodes %s and %s overlap", d.Nodes[i].Ref, d.Nodes[j].Ref)
			}
		}
		if n := len([]rune(d.Nodes[i].Label)); n > labelRunes {
			t.Errorf("label %q has %d runes, want at most %d", d.Nodes[i].Label, n, labelRunes)
		}
	}
	var labels []Box
	for _, e := range d.Edges {
		if e.Label.W == 0 {
			continue
		}
		for _, n := range d.Nodes {
			if e.Label.Overlaps(n.Box) {
				t.Errorf("label of %s→%s overlaps node %s", d.Nodes[e.From].Ref, d.Nodes[e.To].Ref, n.Ref)
			}
		}
		for _, o := range labels {
			if e.Label.Overlaps(o) {
				t.Errorf("label of %s→%s overlaps another label", d.Nodes[e.From].Ref, d.Nodes[e.To].Ref)
			}
		}
		labels = append(labels, e.Label)
	}
	if len(labels) == 0 {
		t.Errorf("got no edge labels placed, want some")
	}
	if d.Height > 1500 {
		t.Errorf("got height %v for %d nodes, want wide bands wrapped into columns", d.Height, len(d.Nodes))
	}
}

func TestRenderEscapes(t *testing.T) {
	f := &fakeCatalog{byRef: map[string]*catalog.Entity{}}
	root := f.add("Component", `evil"><script>alert(1)`, `<img src=x onerror=alert(2)>`)
	other := f.add("Group", "team&co", "")
	f.relate(root, catalog.RelationOwnedBy, other)
	out, err := Render(context.Background(), f, root, Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, bad := range []string{"<script", "<img", `evil"`} {
		if strings.Contains(s, bad) {
			t.Errorf("got %q in the SVG, want it escaped", bad)
		}
	}
	if !strings.Contains(s, "&lt;script&gt;") {
		t.Errorf("got no escaped name in the SVG")
	}
	if !strings.Contains(s, `href="/catalog/default/group/team&amp;co"`) {
		t.Errorf("got no escaped link to the group in %s", s)
	}
}

func TestFetchDepthAndTypes(t *testing.T) {
	f := newSystem(t, 10)
	tests := []struct {
		name      string
		opts      Options
		wantNodes int
		wantKinds string
	}{
		{"depth 1", Options{Depth: 1}, 1 + 10 + 2 + 1, "api,component,group,system"},
		{"depth 0 is 1", Options{Depth: 0}, 1 + 10 + 2 + 1, "api,component,group,system"},
		{"depth 2", Options{Depth: 2}, 1 + 10 + 2 + 4, "api,component,group,system"},
		{"ownership only", Options{Depth: 1, Types: []string{"ownedBy"}}, 2, "group,system"},
		{"inverse name", Options{Depth: 1, Types: []string{"ownerOf"}}, 2, "group,system"},
		{"parts only", Options{Depth: 1, Types: []string{"hasPart"}}, 13, "api,component,system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls = 0
			g, err := Fetch(context.Background(), f, "system:default/shipping", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Nodes) != tt.wantNodes {
				t.Errorf("got %d nodes, want %d", len(g.Nodes), tt.wantNodes)
			}
			if got := strings.Join(kindsOf(g), ","); got != tt.wantKinds {
				t.Errorf("got kinds %v, want %v", got, tt.wantKinds)
			}
			if max := clampDepth(tt.opts.Depth) + 1; f.calls > max {
				t.Errorf("got %d EntitiesByRefs calls, want at most %d (one per level)", f.calls, max)
			}
			for _, e := range g.Edges {
				if !forward[e.Type] {
					t.Errorf("got edge type %s, want only drawn directions", e.Type)
				}
			}
		})
	}
}

func TestFetchCapsNodes(t *testing.T) {
	f := newSystem(t, 200)
	g, err := Fetch(context.Background(), f, "system:default/shipping", Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	last := g.Nodes[len(g.Nodes)-1]
	if len(g.Nodes) != MaxNodes+1 || last.More == 0 {
		t.Fatalf("got %d nodes (last more=%d), want %d plus a summary", len(g.Nodes), last.More, MaxNodes)
	}
	// 200 components, 40 APIs and 1 group at distance 1, 149 shown.
	if want := 200 + 40 + 1 - (MaxNodes - 1); last.More != want {
		t.Errorf("got +%d more, want +%d", last.More, want)
	}
	out, err := SVG(Layout(g), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), fmt.Sprintf("%d more</text>", last.More)) {
		t.Errorf("got no summary node in the SVG")
	}
}

func TestRenderMissingRoot(t *testing.T) {
	f := &fakeCatalog{byRef: map[string]*catalog.Entity{}}
	_, err := Render(context.Background(), f, "component:default/nope", Options{Depth: 1})
	if !fault.Is(err, fault.NotFound) {
		t.Errorf("got %v, want a NotFound error", err)
	}
	_, err = Render(context.Background(), f, "nope", Options{Depth: 1})
	if !fault.Is(err, fault.Invalid) {
		t.Errorf("got %v, want an Invalid error", err)
	}
}

func TestRenderDanglingRelation(t *testing.T) {
	f := &fakeCatalog{byRef: map[string]*catalog.Entity{}}
	root := f.add("Component", "web", "")
	f.relate(root, catalog.RelationDependsOn, "resource:default/gone")
	out, err := Render(context.Background(), f, root, Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.Contains(s, "resource:default/gone: not in the catalog") {
		t.Errorf("got no missing-entity tooltip")
	}
	if strings.Contains(s, `href="/catalog/default/resource/gone"`) {
		t.Errorf("got a link to a missing entity")
	}
}

func BenchmarkRender50(b *testing.B) {
	f := newSystem(b, 40)
	ctx := context.Background()
	g, err := Fetch(ctx, f, "system:default/shipping", Options{Depth: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(g.Nodes)), "nodes")
	b.ResetTimer()
	for b.Loop() {
		if _, err := Render(ctx, f, "system:default/shipping", Options{Depth: 2}); err != nil {
			b.Fatal(err)
		}
	}
}
