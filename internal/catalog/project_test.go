package catalog

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/atrium-portal/atrium/internal/fault"
)

func projectEntity() *Entity {
	return &Entity{
		APIVersion: APIVersionV1Alpha1,
		Kind:       "Component",
		Metadata: Metadata{
			Name: "a", Namespace: "default", UID: "u", Etag: "e", Title: "A",
			Annotations: map[string]string{"backstage.io/orphan": "true", "x": "y"},
			Tags:        []string{"java"},
			Links:       []Link{{URL: "https://x.io", Icon: "i"}},
			Extra:       map[string]any{"custom": map[string]any{"k": 1}},
		},
		Spec:      map[string]any{"type": "service", "owner": "t", "deep": map[string]any{"a": map[string]any{"b": 1, "c": 2}}},
		Relations: []Relation{{Type: "ownedBy", TargetRef: "group:default/t"}},
		Status:    &Status{Items: []StatusItem{{Type: StatusTypeProcessing, Level: "error", Message: "m", Error: &StatusError{Name: "InputError", Message: "m"}}}},
	}
}

func TestEntityMapMatchesJSON(t *testing.T) {
	e := projectEntity()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	gotJSON, err := json.Marshal(EntityMap(e))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(gotJSON, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestProject(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		want   string
	}{
		{"ref idiom", []string{"kind", "metadata.namespace", "metadata.name"}, `{"kind":"Component","metadata":{"name":"a","namespace":"default"}}`},
		{"subtree", []string{"metadata.annotations"}, `{"metadata":{"annotations":{"backstage.io/orphan":"true","x":"y"}}}`},
		{"dotted key", []string{"metadata.annotations.backstage.io/orphan"}, `{"metadata":{"annotations":{"backstage.io/orphan":"true"}}}`},
		{"subtree and inner path", []string{"spec.deep.a.b", "spec"}, `{"spec":{"deep":{"a":{"b":1,"c":2}},"owner":"t","type":"service"}}`},
		{"inner paths merge", []string{"spec.deep.a.b", "spec.type"}, `{"spec":{"deep":{"a":{"b":1}},"type":"service"}}`},
		{"unknown paths yield nothing", []string{"spec.nope", "nope", "kind.x", "spec.type.x"}, `{}`},
		{"relations and status", []string{"relations", "status"}, `{"relations":[{"targetRef":"group:default/t","type":"ownedBy"}],"status":{"items":[{"error":{"message":"m","name":"InputError"},"level":"error","message":"m","type":"backstage.io/catalog-processing"}]}}`},
		{"extra metadata", []string{"metadata.custom.k"}, `{"metadata":{"custom":{"k":1}}}`},
		{"blank and duplicate", []string{" kind ", "", "kind"}, `{"kind":"Component"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Project(projectEntity(), tt.fields)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
		})
	}
}

func TestProjectDoesNotChangeEntity(t *testing.T) {
	e := projectEntity()
	if _, err := Project(e, []string{"spec.deep.a.b", "spec.deep"}); err != nil {
		t.Fatal(err)
	}
	if got, want := e.Spec["deep"], projectEntity().Spec["deep"]; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestProjectErrors(t *testing.T) {
	for _, fields := range [][]string{{"metadata.tags[0]"}, make([]string, MaxProjectionFields+1)} {
		if _, err := Project(projectEntity(), fields); !fault.Is(err, fault.Invalid) {
			t.Errorf("%.30v: got %v, want an InputError", fields, err)
		}
	}
}
