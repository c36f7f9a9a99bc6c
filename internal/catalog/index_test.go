package catalog

import (
	"slices"
	"strings"
	"testing"
)

func TestSearchRows(t *testing.T) {
	e := &Entity{
		APIVersion: APIVersionV1Alpha1,
		Kind:       "Component",
		Metadata: Metadata{
			Name: "Payments", UID: "u-1", Etag: "e", Title: "Pay",
			Labels:      map[string]string{"Tier": "Web"},
			Annotations: map[string]string{"backstage.io/orphan": "true", "long": strings.Repeat("v", 201)},
			Tags:        []string{"java", "java"},
			Links:       []Link{{URL: "https://X.io", Title: "X"}},
			Extra:       map[string]any{"generation": 2},
		},
		Spec: map[string]any{
			"type":      "Service",
			"owner":     "team-a",
			"dependsOn": []any{"resource:db"},
			"ports":     []any{80, 443},
			"nested":    map[string]any{"Deep": map[string]any{"x": true}},
			"nothing":   nil,
			"objects":   []any{map[string]any{"k": "v1"}, map[string]any{"k": "v2"}},
		},
		Relations: []Relation{{Type: "ownedBy", TargetRef: "group:default/team-a"}},
	}
	got := SearchRows(e)
	want := []SearchRow{
		{"apiversion", "backstage.io/v1alpha1", "backstage.io/v1alpha1"},
		{"kind", "component", "Component"},
		{"metadata.name", "payments", "Payments"},
		{"metadata.namespace", "default", "default"},
		{"metadata.uid", "u-1", "u-1"},
		{"metadata.title", "pay", "Pay"},
		{"metadata.labels.tier", "web", "Web"},
		{"metadata.annotations.backstage.io/orphan", "true", "true"},
		{"metadata.annotations.long", "", ""},
		{"metadata.tags", "java", "java"},
		{"metadata.tags.java", "true", "true"},
		{"metadata.links.url", "https://x.io", "https://X.io"},
		{"metadata.links.title", "x", "X"},
		{"metadata.generation", "2", "2"},
		{"spec.dependson", "resource:db", "resource:db"},
		{"spec.dependson.resource:db", "true", "true"},
		{"spec.nested.deep.x", "true", "true"},
		{"spec.nothing", "", ""},
		{"spec.objects.k", "v1", "v1"},
		{"spec.objects.k", "v2", "v2"},
		{"spec.owner", "team-a", "team-a"},
		{"spec.ports", "80", "80"},
		{"spec.ports", "443", "443"},
		{"spec.type", "service", "Service"},
	}
	slices.SortFunc(want, compareSearchRows)
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestSearchRowsLongKeySkipped(t *testing.T) {
	e := entity("Thing", "", "a", map[string]any{strings.Repeat("k", 200): "v"})
	for _, r := range SearchRows(e) {
		if strings.HasPrefix(r.Key, "spec.") {
			t.Errorf("got row %v, want keys over %d characters skipped", r, MaxSearchKeyLength)
		}
	}
}

func TestFullTextDocument(t *testing.T) {
	e := &Entity{Kind: "User", Metadata: Metadata{Name: "jdoe", Namespace: "default", Title: "J", Tags: []string{"x"}},
		Spec: map[string]any{"profile": map[string]any{"displayName": "Jane Doe", "email": "jane@example.com"}, "type": 3}}
	if got, want := FullTextDocument(e), "jdoe J User default x Jane Doe jane@example.com"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
