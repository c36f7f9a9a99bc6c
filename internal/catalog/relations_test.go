package catalog

import (
	"reflect"
	"strings"
	"testing"
)

func entity(kind, namespace, name string, spec map[string]any) *Entity {
	return &Entity{APIVersion: APIVersionV1Alpha1, Kind: kind, Metadata: Metadata{Name: name, Namespace: namespace}, Spec: spec}
}

func TestRelationsEveryPair(t *testing.T) {
	tests := []struct {
		name string
		e    *Entity
		want []RelationRow
	}{
		{"component owner", entity("Component", "", "c", map[string]any{"owner": "team-a"}), []RelationRow{
			{"component:default/c", "ownedBy", "group:default/team-a"}, {"group:default/team-a", "ownerOf", "component:default/c"}}},
		{"owner user", entity("Component", "ns", "c", map[string]any{"owner": "user:jdoe"}), []RelationRow{
			{"component:ns/c", "ownedBy", "user:ns/jdoe"}, {"user:ns/jdoe", "ownerOf", "component:ns/c"}}},
		{"owner other namespace", entity("Component", "ns", "c", map[string]any{"owner": "Group:Other/Team-A"}), []RelationRow{
			{"component:ns/c", "ownedBy", "group:other/team-a"}, {"group:other/team-a", "ownerOf", "component:ns/c"}}},
		{"component system", entity("Component", "", "c", map[string]any{"system": "s"}), []RelationRow{
			{"component:default/c", "partOf", "system:default/s"}, {"system:default/s", "hasPart", "component:default/c"}}},
		{"component subcomponentOf", entity("Component", "", "c", map[string]any{"subcomponentOf": "parent"}), []RelationRow{
			{"component:default/c", "partOf", "component:default/parent"}, {"component:default/parent", "hasPart", "component:default/c"}}},
		{"component providesApis", entity("Component", "", "c", map[string]any{"providesApis": []any{"a1", "api:x/a2"}}), []RelationRow{
			{"component:default/c", "providesApi", "api:default/a1"}, {"api:default/a1", "apiProvidedBy", "component:default/c"},
			{"component:default/c", "providesApi", "api:x/a2"}, {"api:x/a2", "apiProvidedBy", "component:default/c"}}},
		{"component consumesApis", entity("Component", "", "c", map[string]any{"consumesApis": []any{"a1"}}), []RelationRow{
			{"component:default/c", "consumesApi", "api:default/a1"}, {"api:default/a1", "apiConsumedBy", "component:default/c"}}},
		{"component dependsOn", entity("Component", "", "c", map[string]any{"dependsOn": []any{"resource:db"}}), []RelationRow{
			{"component:default/c", "dependsOn", "resource:default/db"}, {"resource:default/db", "dependencyOf", "component:default/c"}}},
		{"component dependencyOf", entity("Component", "", "c", map[string]any{"dependencyOf": []any{"component:x"}}), []RelationRow{
			{"component:default/c", "dependencyOf", "component:default/x"}, {"component:default/x", "dependsOn", "component:default/c"}}},
		{"api owner and system", entity("API", "", "a", map[string]any{"owner": "t", "system": "s"}), []RelationRow{
			{"api:default/a", "ownedBy", "group:default/t"}, {"group:default/t", "ownerOf", "api:default/a"},
			{"api:default/a", "partOf", "system:default/s"}, {"system:default/s", "hasPart", "api:default/a"}}},
		{"resource", entity("Resource", "", "r", map[string]any{"owner": "t", "system": "s", "dependsOn": []any{"resource:o"}, "dependencyOf": []any{"component:c"}}), []RelationRow{
			{"resource:default/r", "ownedBy", "group:default/t"}, {"group:default/t", "ownerOf", "resource:default/r"},
			{"resource:default/r", "partOf", "system:default/s"}, {"system:default/s", "hasPart", "resource:default/r"},
			{"resource:default/r", "dependsOn", "resource:default/o"}, {"resource:default/o", "dependencyOf", "resource:default/r"},
			{"resource:default/r", "dependencyOf", "component:default/c"}, {"component:default/c", "dependsOn", "resource:default/r"}}},
		{"system", entity("System", "", "s", map[string]any{"owner": "t", "domain": "d"}), []RelationRow{
			{"system:default/s", "ownedBy", "group:default/t"}, {"group:default/t", "ownerOf", "system:default/s"},
			{"system:default/s", "partOf", "domain:default/d"}, {"domain:default/d", "hasPart", "system:default/s"}}},
		{"domain", entity("Domain", "", "d", map[string]any{"owner": "t", "subdomainOf": "top"}), []RelationRow{
			{"domain:default/d", "ownedBy", "group:default/t"}, {"group:default/t", "ownerOf", "domain:default/d"},
			{"domain:default/d", "partOf", "domain:default/top"}, {"domain:default/top", "hasPart", "domain:default/d"}}},
		{"group", entity("Group", "", "g", map[string]any{"parent": "org", "children": []any{"sub"}, "members": []any{"jdoe"}}), []RelationRow{
			{"group:default/g", "childOf", "group:default/org"}, {"group:default/org", "parentOf", "group:default/g"},
			{"group:default/g", "parentOf", "group:default/sub"}, {"group:default/sub", "childOf", "group:default/g"},
			{"group:default/g", "hasMember", "user:default/jdoe"}, {"user:default/jdoe", "memberOf", "group:default/g"}}},
		{"user", entity("User", "", "jdoe", map[string]any{"memberOf": []any{"team-a"}}), []RelationRow{
			{"user:default/jdoe", "memberOf", "group:default/team-a"}, {"group:default/team-a", "hasMember", "user:default/jdoe"}}},
		{"template", &Entity{APIVersion: APIVersionScaffolder, Kind: "Template", Metadata: Metadata{Name: "t"}, Spec: map[string]any{"owner": "group:platform", "type": "service"}}, []RelationRow{
			{"template:default/t", "ownedBy", "group:default/platform"}, {"group:default/platform", "ownerOf", "template:default/t"}}},
		{"location has none", entity("Location", "", "l", map[string]any{"target": "x"}), nil},
		{"custom kind has none", entity("Thing", "", "t", map[string]any{"owner": "x"}), nil},
		{"duplicates removed", entity("User", "", "u", map[string]any{"memberOf": []any{"a", "A", "group:default/a"}}), []RelationRow{
			{"user:default/u", "memberOf", "group:default/a"}, {"group:default/a", "hasMember", "user:default/u"}}},
		{"colon after slash is part of the name", entity("Component", "", "c", map[string]any{"owner": "ns/a:b"}), []RelationRow{
			{"component:default/c", "ownedBy", "group:ns/a:b"}, {"group:ns/a:b", "ownerOf", "component:default/c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ps := Relations(tt.e)
			if len(ps) > 0 {
				t.Fatalf("got problems %v", ps)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRelationsProblems(t *testing.T) {
	tests := []struct {
		name      string
		spec      map[string]any
		wantField string
		wantMsg   string
	}{
		{"dependsOn without kind", map[string]any{"dependsOn": []any{"resource:ok", "db"}}, "spec.dependsOn.1", `entity reference "db" must name its kind`},
		{"dependencyOf without kind", map[string]any{"dependencyOf": []any{"x"}}, "spec.dependencyOf.0", "must name its kind"},
		{"empty namespace", map[string]any{"owner": "group:/x"}, "spec.owner", "empty namespace"},
		{"too many slashes", map[string]any{"owner": "a/b/c"}, "spec.owner", "more than one '/'"},
		{"item not a string", map[string]any{"providesApis": []any{1}}, "spec.providesApis.0", "must be a string"},
		{"wrong shape", map[string]any{"owner": map[string]any{"x": 1}}, "spec.owner", "must be a string or a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, ps := Relations(entity("Component", "", "c", tt.spec))
			if len(ps) != 1 {
				t.Fatalf("got problems %v, want one", ps)
			}
			if ps[0].Field != tt.wantField || !strings.Contains(ps[0].Message, tt.wantMsg) {
				t.Errorf("got %v, want %s: ...%s...", ps[0], tt.wantField, tt.wantMsg)
			}
			if tt.name == "dependsOn without kind" && len(rows) != 2 {
				t.Errorf("got %v rows, want the 2 of the valid reference", len(rows))
			}
		})
	}
}

func TestDocumentLocate(t *testing.T) {
	docs := mustParse(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\nspec:\n  type: service\n  lifecycle: production\n  owner: x\n  dependsOn:\n    - resource:ok\n    - db\n")
	e, ps := ValidateDocument(docs[0])
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	_, ps = Relations(e)
	ps = docs[0].Locate(ps)
	if got, want := ps[0].String(), `test.yaml:11: spec.dependsOn.1: entity reference "db" must name its kind, e.g. "component:db"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
