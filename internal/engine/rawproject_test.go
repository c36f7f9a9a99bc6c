package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// projectionEntities returns final JSON of many entities: the bench
// catalog's as the engine stitches them, and hand-made ones with every part
// of an entity (labels, dotted annotation keys, links, extra metadata,
// nested spec, status, characters that are escaped).
func projectionEntities(t *testing.T) []*Raw {
	t.Helper()
	ctx := context.Background()
	e := newEngine(t, Config{})
	ingestBench(t, e, 200)
	res, err := e.store.EntityList(ctx, store.EntityListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*Raw
	for _, s := range res.Items {
		b, err := StitchJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &Raw{Ref: s.Ref, UID: s.UID, JSON: b})
	}
	ents := []catalog.Entity{
		{APIVersion: "backstage.io/v1alpha1", Kind: "Component", Metadata: catalog.Metadata{
			Name: "rich", Namespace: "default", UID: "u-1", Etag: "e-1", Title: "Rich <one> & \"quoted\"",
			Description: "déjà vu \u2028 \\ end \\u003c not an escape \x01",
			Labels:      map[string]string{"b": "2", "a": "1", "team.io/name": "x"},
			Annotations: map[string]string{"backstage.io/orphan": "true", "github.com/project-slug": "o/r", "a.b": "dotted", "a": "plain"},
			Tags:        []string{"go", "<html>"},
			Links:       []catalog.Link{{URL: "https://x", Title: "X"}, {URL: "https://y", Icon: "doc", Type: "t"}},
			Extra:       map[string]any{"custom": map[string]any{"z": 1.5, "a": []any{"x", nil, true}}, "weird.key": "w", "empty": map[string]any{}},
		}, Spec: map[string]any{
			"type": "service", "owner": "team-a", "n": 42.0, "big": 1e21, "neg": -0.5, "null": nil, "empty": map[string]any{},
			"deep": map[string]any{"x": map[string]any{"y": "z", "w": []any{1.0, map[string]any{"k": "v"}}}, "dot.ted": map[string]any{"in": "side"}},
		}, Relations: []catalog.Relation{{Type: "ownedBy", TargetRef: "group:default/team-a"}, {Type: "dependsOn", TargetRef: "component:default/x"}},
			Status: &catalog.Status{Items: []catalog.StatusItem{{Type: "t", Level: "error", Message: "m <x>", Error: &catalog.StatusError{Name: "E", Message: "bad"}}}}},
		{APIVersion: "v1", Kind: "Thing", Metadata: catalog.Metadata{Name: "bare"}},
		{APIVersion: "v1", Kind: "Thing", Metadata: catalog.Metadata{Name: "empty-maps", Labels: map[string]string{}, Annotations: map[string]string{}, Tags: []string{}},
			Spec: map[string]any{}},
	}
	for i := range ents {
		b, err := json.Marshal(&ents[i])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &Raw{Ref: fmt.Sprintf("thing:default/%d", i), UID: fmt.Sprint(i), JSON: b})
	}
	return out
}

// jsonPaths returns every dot path of v's objects (keys with dots
// included as they are).
func jsonPaths(prefix string, v any, out map[string]bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, sub := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		out[p] = true
		jsonPaths(p, sub, out)
	}
}

func TestProjectRawMatchesDecodingProjection(t *testing.T) {
	items := projectionEntities(t)
	all := map[string]bool{}
	for _, it := range items {
		var v any
		if err := json.Unmarshal(it.JSON, &v); err != nil {
			t.Fatal(err)
		}
		jsonPaths("", v, all)
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	fieldSets := [][]string{
		{"kind", "metadata.name", "metadata.namespace", "metadata.title"},
		{"metadata"}, {"spec"}, {"relations"}, {"status"}, {"status.items"},
		{"metadata.annotations"}, {"metadata.annotations.backstage.io/orphan"}, {"metadata.annotations.a.b"},
		{"metadata.annotations.a"}, {"metadata.labels.team.io/name", "metadata.labels.a"},
		{"metadata.name", "metadata"}, {"metadata", "metadata.name"}, {"kind", "kind", " kind ", ""},
		{"nothing"}, {"metadata.nothing"}, {"metadata.name.deeper"}, {"relations.type"}, {"spec.deep.x.y", "spec.deep.dot.ted.in"},
		{"spec.null"}, {"spec.null.x"}, {"spec.empty"}, {"spec.empty.x"}, {"metadata.custom.z"}, {"metadata.weird.key"},
		{"apiVersion", "kind", "metadata", "spec", "relations", "status"}, {"metadata.links", "metadata.tags"},
		{"metadata.etag", "metadata.uid"}, {"spec.type", "spec.owner", "spec.lifecycle", "spec.system"},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		set := make([]string, 1+rng.IntN(5))
		for i := range set {
			set[i] = paths[rng.IntN(len(paths))]
			if rng.IntN(8) == 0 {
				set[i] += ".missing"
			}
		}
		fieldSets = append(fieldSets, set)
	}
	withNil := append([]*Raw{nil}, items...)
	for _, fields := range fieldSets {
		got, err := ProjectRaw(withNil, fields)
		if err != nil {
			t.Fatalf("fields %q: %v", fields, err)
		}
		if len(got) != len(withNil) || got[0] != nil {
			t.Fatalf("fields %q: got %d items (first %v), want %d with a nil first", fields, len(got), got[0], len(withNil))
		}
		for i, it := range items {
			paths, _ := projectFields(fields)
			if _, ok := projectJSON(nil, it.JSON, paths); !ok {
				t.Fatalf("%s: not projected from its JSON", it.Ref)
			}
			want, err := decodeProject(it, fields)
			if err != nil {
				t.Fatal(err)
			}
			if string(got[i+1].JSON) != string(want.JSON) {
				t.Fatalf("%s, fields %q:\ngot  %s\nwant %s", it.Ref, fields, got[i+1].JSON, want.JSON)
			}
			if got[i+1].Ref != it.Ref || got[i+1].UID != it.UID {
				t.Fatalf("got ref %s uid %s, want %s %s", got[i+1].Ref, got[i+1].UID, it.Ref, it.UID)
			}
		}
	}
}

func TestProjectRawSortsBuiltObjects(t *testing.T) {
	raw := &Raw{JSON: []byte(`{"apiVersion":"v1","kind":"K","metadata":{"name":"n","namespace":"default","title":"T"}}`)}
	got, err := ProjectRaw([]*Raw{raw}, []string{"metadata.title", "kind", "metadata.name"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"kind":"K","metadata":{"name":"n","title":"T"}}`; string(got[0].JSON) != want {
		t.Fatalf("got %s, want %s", got[0].JSON, want)
	}
}

func TestProjectRawErrors(t *testing.T) {
	raw := &Raw{JSON: []byte(`{"apiVersion":"v1","kind":"K","metadata":{"name":"n"}}`)}
	many := make([]string, catalog.MaxProjectionFields+1)
	for i := range many {
		many[i] = "kind"
	}
	for _, fields := range [][]string{{"metadata.tags[0]"}, {"a]"}, many} {
		_, err := ProjectRaw([]*Raw{raw}, fields)
		_, want := catalog.Project(&catalog.Entity{}, fields)
		if err == nil || want == nil || err.Error() != want.Error() || !fault.Is(err, fault.Invalid) {
			t.Fatalf("fields %q: got %v, want %v", strings.Join(fields[:1], ","), err, want)
		}
	}
}

func TestProjectRawFallsBackOnMalformedJSON(t *testing.T) {
	for _, b := range []string{`{"kind":"K",}`, `{"kind":"K"`, `{"kind" "K"}`, `["kind"]`, `{"kind":"K"} x`} {
		if _, ok := projectJSON(nil, []byte(b), []string{"kind"}); ok {
			t.Fatalf("%s: projected, want not well-formed", b)
		}
	}
	// A well-formed item that the walker does not take is decoded.
	raw := &Raw{Ref: "k:default/n", JSON: []byte(`{"kind":"K","apiVersion":"v1","metadata":{"name":"n"}}`)}
	got, err := ProjectRaw([]*Raw{raw}, []string{"kind"})
	if err != nil || string(got[0].JSON) != `{"kind":"K"}` {
		t.Fatalf("got %s, %v", got[0].JSON, err)
	}
}

// BenchmarkProjectRaw projects 20 bench entities to the catalog table's
// columns from their JSON ("raw") and by decoding them ("decode").
//
//	go test ./internal/engine -run XX -bench ProjectRaw -benchmem
func BenchmarkProjectRaw(b *testing.B) {
	ctx := context.Background()
	e := newEngine(b, Config{})
	ingestBench(b, e, 20)
	res, err := e.store.EntityList(ctx, store.EntityListParams{Limit: 20})
	if err != nil {
		b.Fatal(err)
	}
	items := make([]*Raw, len(res.Items))
	for i, s := range res.Items {
		js, err := StitchJSON(s)
		if err != nil {
			b.Fatal(err)
		}
		items[i] = &Raw{Ref: s.Ref, UID: s.UID, JSON: js}
	}
	fields := []string{"kind", "metadata.name", "metadata.namespace", "metadata.title"}
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ProjectRaw(items, fields); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, it := range items {
				if _, err := decodeProject(it, fields); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
