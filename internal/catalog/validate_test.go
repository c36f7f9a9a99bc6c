package catalog

import (
	"reflect"
	"strings"
	"testing"
)

// validate parses one YAML document and validates it.
func validate(t testing.TB, data string) (*Entity, Problems) {
	t.Helper()
	docs := mustParse(t, data)
	if len(docs) != 1 {
		t.Fatalf("got %v documents, want 1", len(docs))
	}
	return ValidateDocument(docs[0])
}

const componentHead = "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
const componentSpec = "spec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"

func withMetadata(md string) string {
	return componentHead + "metadata:\n" + md + componentSpec
}

func TestValidateDocumentEnvelope(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		wantField string // "" means valid
		wantMsg   string
		wantLine  int
	}{
		{"valid", withMetadata("  name: a\n"), "", "", 0},
		{"v1beta1", strings.Replace(withMetadata("  name: a\n"), "v1alpha1", "v1beta1", 1), "", "", 0},
		{"missing apiVersion", "kind: Component\nmetadata:\n  name: a\n" + componentSpec, "apiVersion", "required", 1},
		{"apiVersion not a string", "apiVersion: 1\nkind: X\nmetadata:\n  name: a\n", "apiVersion", "must be a string, found a number", 1},
		{"apiVersion two slashes", "apiVersion: a/b/c\nkind: X\nmetadata:\n  name: a\n", "apiVersion", `"apiVersion" is not valid; expected a valid prefix and/or suffix but found "a/b/c".`, 1},
		{"apiVersion bad version", "apiVersion: example.com/v1_0\nkind: X\nmetadata:\n  name: a\n", "apiVersion", "expected a valid prefix and/or suffix", 1},
		{"apiVersion bad prefix", "apiVersion: Example.com/v1\nkind: X\nmetadata:\n  name: a\n", "apiVersion", "expected a valid prefix and/or suffix", 1},
		{"missing kind", "apiVersion: backstage.io/v1alpha1\nmetadata:\n  name: a\n", "kind", "required", 1},
		{"kind starts with digit", "apiVersion: x/v1\nkind: 1Thing\nmetadata:\n  name: a\n", "kind", `"kind" is not valid; expected a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total but found "1Thing".`, 2},
		{"kind with dash", "apiVersion: x/v1\nkind: My-Thing\nmetadata:\n  name: a\n", "kind", "is not valid", 2},
		{"missing metadata", "apiVersion: x/v1\nkind: Thing\n", "metadata", "required", 1},
		{"metadata not an object", "apiVersion: x/v1\nkind: Thing\nmetadata: [a]\n", "metadata", "must be an object", 3},
		{"foreign root field", withMetadata("  name: a\n") + "extra: 1\n", "extra", "unknown root field", 9},
		{"spec not an object", "apiVersion: x/v1\nkind: Thing\nmetadata:\n  name: a\nspec: 3\n", "spec", "must be an object", 5},
		{"custom kind without spec", "apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: a\n", "", "", 0},
		{"relations and status dropped", withMetadata("  name: a\n") + "relations: [{type: x, targetRef: y}]\nstatus: {items: []}\n", "", "", 0},
		{"built-in kind in wrong case", "apiVersion: backstage.io/v1alpha1\nkind: component\nmetadata:\n  name: a\n" + componentSpec, "kind", `kind "component" must be spelled "Component"`, 2},
		{"built-in kind with foreign apiVersion", "apiVersion: example.com/v1\nkind: Component\nmetadata:\n  name: a\n" + componentSpec, "apiVersion", "kind Component needs apiVersion backstage.io/v1alpha1 or backstage.io/v1beta1", 1},
		{"keys differing only in case", withMetadata("  name: a\n") + "  Owner: b\n", "spec.owner", `keys "Owner" and "owner" differ only in case`, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidation(t, tt.data, tt.wantField, tt.wantMsg, tt.wantLine)
		})
	}
}

func checkValidation(t *testing.T, data, wantField, wantMsg string, wantLine int) {
	t.Helper()
	e, ps := validate(t, data)
	if wantField == "" {
		if len(ps) > 0 {
			t.Fatalf("got problems %v, want none", ps)
		}
		if e == nil {
			t.Fatalf("got no entity")
		}
		return
	}
	if e != nil {
		t.Errorf("got an entity with problems")
	}
	for _, p := range ps {
		if p.Field == wantField && strings.Contains(p.Message, wantMsg) {
			if wantLine > 0 && p.Line != wantLine {
				t.Errorf("got line %v, want %v", p.Line, wantLine)
			}
			if p.File != "test.yaml" {
				t.Errorf("got file %q, want test.yaml", p.File)
			}
			return
		}
	}
	t.Errorf("got problems %v, want one at %s containing %q", ps, wantField, wantMsg)
}

func TestValidateDocumentMetadata(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name      string
		md        string
		wantField string
		wantMsg   string
	}{
		{"name with separators", "  name: a-b_c.d\n", "", ""},
		{"name double separators", "  name: a--b\n", "", ""},
		{"name uppercase", "  name: Payments\n", "", ""},
		{"name 63 chars", "  name: " + long[:63] + "\n", "", ""},
		{"name one char", "  name: a\n", "", ""},
		{"name missing", "  title: x\n", "metadata.name", "required"},
		{"name empty", "  name: ''\n", "metadata.name", "must not be empty"},
		{"name a number", "  name: 123\n", "metadata.name", "must be a string, found a number"},
		{"name 64 chars", "  name: " + long + "\n", "metadata.name", "expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found"},
		{"name leading dash", "  name: -a\n", "metadata.name", `"metadata.name" is not valid`},
		{"name trailing dot", "  name: a.\n", "metadata.name", `"metadata.name" is not valid`},
		{"name with space", "  name: a b\n", "metadata.name", `but found "a b".`},
		{"name with slash", "  name: a/b\n", "metadata.name", `"metadata.name" is not valid`},
		{"namespace valid", "  name: a\n  namespace: team-a1\n", "", ""},
		{"namespace uppercase", "  name: a\n  namespace: Team\n", "metadata.namespace", `expected a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total but found "Team".`},
		{"namespace underscore", "  name: a\n  namespace: a_b\n", "metadata.namespace", "is not valid"},
		{"namespace double dash", "  name: a\n  namespace: a--b\n", "metadata.namespace", "is not valid"},
		{"namespace empty", "  name: a\n  namespace: ''\n", "metadata.namespace", "is not valid"},
		{"namespace 64 chars", "  name: a\n  namespace: " + long + "\n", "metadata.namespace", "is not valid"},
		{"title not a string", "  name: a\n  title: [x]\n", "metadata.title", "must be a string, found a list"},
		{"description not a string", "  name: a\n  description: {a: 1}\n", "metadata.description", "must be a string, found an object"},
		{"labels valid", "  name: a\n  labels:\n    example.com/tier: web-1\n    plain: ''\n", "", ""},
		{"labels not an object", "  name: a\n  labels: [x]\n", "metadata.labels", "must be an object of strings"},
		{"label key bad prefix", "  name: a\n  labels:\n    Example.com/x: y\n", "metadata.labels.Example.com/x", "expected a valid prefix and/or suffix"},
		{"label key two slashes", "  name: a\n  labels:\n    a/b/c: y\n", "metadata.labels.a/b/c", "expected a valid prefix and/or suffix"},
		{"label value bad", "  name: a\n  labels:\n    x: a b\n", "metadata.labels.x", `expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found "a b".`},
		{"label value number", "  name: a\n  labels:\n    x: 1\n", "metadata.labels.x", `must be a string, found a number (quote it: "1")`},
		{"annotations valid", "  name: a\n  annotations:\n    backstage.io/techdocs-ref: 'dir:.'\n    x: 'any text: at all!'\n", "", ""},
		{"annotation value bool", "  name: a\n  annotations:\n    tekton.dev/cicd: true\n", "metadata.annotations.tekton.dev/cicd", `must be a string, found a boolean (quote it: "true")`},
		{"annotation key bad", "  name: a\n  annotations:\n    'bad key': x\n", "metadata.annotations.bad key", "expected a valid prefix and/or suffix"},
		{"tags valid", "  name: a\n  tags: [java, c++, 'c#', 'a:b', go-lang]\n", "", ""},
		{"tags not a list", "  name: a\n  tags: java\n", "metadata.tags", "must be a list of strings"},
		{"tag uppercase", "  name: a\n  tags: [Java]\n", "metadata.tags.0", `expected a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total but found "Java".`},
		{"tag underscore", "  name: a\n  tags: [ok, a_b]\n", "metadata.tags.1", "is not valid"},
		{"tag double dash", "  name: a\n  tags: [a--b]\n", "metadata.tags.0", "is not valid"},
		{"tag number", "  name: a\n  tags: [1]\n", "", ""}, // placeholder replaced below
		{"tag 64 chars", "  name: a\n  tags: [" + long + "]\n", "metadata.tags.0", "is not valid"},
		{"links valid", "  name: a\n  links:\n    - url: https://example.com/x\n      title: Admin\n      icon: dashboard\n      type: admin\n    - url: mailto:team@example.com\n", "", ""},
		{"link without url", "  name: a\n  links:\n    - title: x\n", "metadata.links.0.url", `expected a string that is a valid url but found "undefined".`},
		{"link relative url", "  name: a\n  links:\n    - url: /relative\n", "metadata.links.0.url", "expected a string that is a valid url"},
		{"link http without host", "  name: a\n  links:\n    - url: 'http://'\n", "metadata.links.0.url", "expected a string that is a valid url"},
		{"link empty title", "  name: a\n  links:\n    - url: https://x.io\n      title: ''\n", "metadata.links.0.title", "expected a non empty string"},
		{"link bad icon", "  name: a\n  links:\n    - url: https://x.io\n      icon: 'no way'\n", "metadata.links.0.icon", "is not valid"},
		{"link unknown field", "  name: a\n  links:\n    - url: https://x.io\n      colour: red\n", "metadata.links.0.colour", "unknown link field"},
		{"link not an object", "  name: a\n  links: [https://x.io]\n", "metadata.links.0", "must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "tag number" {
				tt.wantField, tt.wantMsg = "metadata.tags.0", `found "1"`
			}
			checkValidation(t, withMetadata(tt.md), tt.wantField, tt.wantMsg, 0)
		})
	}
}

func TestValidateDocumentEntity(t *testing.T) {
	e, ps := validate(t, `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  title: Payments
  description: Takes money
  labels: {tier: web}
  annotations: {backstage.io/techdocs-ref: 'dir:.'}
  tags: [java]
  links: [{url: 'https://x.io', title: X}]
  generation: 3
  custom: {any: thing}
spec:
  type: service
  lifecycle: production
  owner: team-a
  extraField: kept
relations: [{type: ownedBy, targetRef: group:default/x}]
`)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	want := &Entity{
		APIVersion: "backstage.io/v1alpha1",
		Kind:       "Component",
		Metadata: Metadata{
			Name: "payments", Namespace: "default", Title: "Payments", Description: "Takes money",
			Labels: map[string]string{"tier": "web"}, Annotations: map[string]string{"backstage.io/techdocs-ref": "dir:."},
			Tags: []string{"java"}, Links: []Link{{URL: "https://x.io", Title: "X"}},
			Extra: map[string]any{"generation": 3, "custom": map[string]any{"any": "thing"}},
		},
		Spec: map[string]any{"type": "service", "lifecycle": "production", "owner": "team-a", "extraField": "kept"},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %+v, want %+v", e, want)
	}
}

func TestValidateDocumentKinds(t *testing.T) {
	head := func(kind string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: x\n"
	}
	tmpl := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: x\n"
	tests := []struct {
		name      string
		data      string
		wantField string
		wantMsg   string
	}{
		{"component valid", head("Component") + "spec:\n  type: service\n  lifecycle: production\n  owner: user:jdoe\n  system: s\n  subcomponentOf: c\n  providesApis: [a]\n  consumesApis: [b]\n  dependsOn: [resource:db]\n  dependencyOf: [component:y]\n", "", ""},
		{"component missing spec", head("Component"), "spec", "required"},
		{"component missing type", head("Component") + "spec:\n  lifecycle: production\n  owner: a\n", "spec.type", "required"},
		{"component empty type", head("Component") + "spec:\n  type: ''\n  lifecycle: production\n  owner: a\n", "spec.type", "must not be empty"},
		{"component missing lifecycle", head("Component") + "spec:\n  type: service\n  owner: a\n", "spec.lifecycle", "required"},
		{"component missing owner", head("Component") + "spec:\n  type: service\n  lifecycle: production\n", "spec.owner", "required"},
		{"component owner not a string", head("Component") + "spec:\n  type: service\n  lifecycle: production\n  owner: [a]\n", "spec.owner", "must be a string, found a list"},
		{"component system not a string", head("Component") + "spec:\n  type: service\n  lifecycle: production\n  owner: a\n  system: 3\n", "spec.system", "must be a string"},
		{"component providesApis not a list", head("Component") + "spec:\n  type: service\n  lifecycle: production\n  owner: a\n  providesApis: a\n", "spec.providesApis", "must be a list of strings"},
		{"component dependsOn item empty", head("Component") + "spec:\n  type: service\n  lifecycle: production\n  owner: a\n  dependsOn: ['']\n", "spec.dependsOn.0", "must be a non-empty string"},
		{"api valid", head("API") + "spec:\n  type: openapi\n  lifecycle: production\n  owner: a\n  system: s\n  definition: 'openapi: 3.0.0'\n", "", ""},
		{"api missing definition", head("API") + "spec:\n  type: openapi\n  lifecycle: production\n  owner: a\n", "spec.definition", "required"},
		{"api unresolved definition", head("API") + "spec:\n  type: openapi\n  lifecycle: production\n  owner: a\n  definition:\n    $text: ./openapi.yaml\n", "spec.definition", "placeholder was not resolved"},
		{"api definition object", head("API") + "spec:\n  type: openapi\n  lifecycle: production\n  owner: a\n  definition: {openapi: 3}\n", "spec.definition", "must be a string, found an object"},
		{"resource valid", head("Resource") + "spec:\n  type: database\n  owner: a\n  system: s\n  dependsOn: [resource:x]\n  dependencyOf: [component:y]\n", "", ""},
		{"resource missing type", head("Resource") + "spec:\n  owner: a\n", "spec.type", "required"},
		{"resource missing owner", head("Resource") + "spec:\n  type: database\n", "spec.owner", "required"},
		{"system valid", head("System") + "spec:\n  owner: a\n  domain: d\n  type: product\n", "", ""},
		{"system missing owner", head("System") + "spec:\n  domain: d\n", "spec.owner", "required"},
		{"system type not a string", head("System") + "spec:\n  owner: a\n  type: 1\n", "spec.type", "must be a string"},
		{"domain valid", head("Domain") + "spec:\n  owner: a\n  subdomainOf: d\n", "", ""},
		{"domain missing owner", head("Domain") + "spec: {}\n", "spec.owner", "required"},
		{"group valid", head("Group") + "spec:\n  type: team\n  profile: {displayName: X, email: x@y.z, picture: 'https://p'}\n  parent: org\n  children: []\n  members: [jdoe]\n", "", ""},
		{"group missing children", head("Group") + "spec:\n  type: team\n", "spec.children", "required"},
		{"group missing type", head("Group") + "spec:\n  children: []\n", "spec.type", "required"},
		{"group profile email number", head("Group") + "spec:\n  type: team\n  children: []\n  profile: {email: 1}\n", "spec.profile.email", "must be a string"},
		{"group members not a list", head("Group") + "spec:\n  type: team\n  children: []\n  members: jdoe\n", "spec.members", "must be a list of strings"},
		{"user valid", head("User") + "spec:\n  profile: {displayName: J, extra: ok}\n  memberOf: [team-a]\n", "", ""},
		{"user empty memberOf", head("User") + "spec:\n  memberOf: []\n", "", ""},
		{"user missing memberOf", head("User") + "spec:\n  profile: {}\n", "spec.memberOf", "required"},
		{"location valid", head("Location") + "spec:\n  type: url\n  targets: [./a.yaml, ./b.yaml]\n  presence: optional\n", "", ""},
		{"location empty spec", head("Location") + "spec: {}\n", "", ""},
		{"location missing spec", head("Location"), "spec", "required"},
		{"location bad presence", head("Location") + "spec:\n  presence: maybe\n", "spec.presence", `must be "required" or "optional", found "maybe"`},
		{"location targets not a list", head("Location") + "spec:\n  targets: ./a.yaml\n", "spec.targets", "must be a list of strings"},
		{"template valid", tmpl + "spec:\n  owner: group:platform\n  type: service\n  parameters: [{title: x}]\n  steps: [{id: a, action: fetch:template}]\n  output: {links: []}\n", "", ""},
		{"template parameters object", tmpl + "spec:\n  type: service\n  parameters: {title: x}\n  steps: []\n", "", ""},
		{"template missing type", tmpl + "spec:\n  steps: []\n", "spec.type", "required"},
		{"template missing steps", tmpl + "spec:\n  type: service\n", "spec.steps", "required"},
		{"template steps not a list", tmpl + "spec:\n  type: service\n  steps: {a: 1}\n", "spec.steps", "must be a list"},
		{"template parameters string", tmpl + "spec:\n  type: service\n  steps: []\n  parameters: x\n", "spec.parameters", "must be an object or a list"},
		{"template old apiVersion", head("Template") + "spec:\n  type: service\n  steps: []\n", "apiVersion", "kind Template needs apiVersion scaffolder.backstage.io/v1beta3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidation(t, tt.data, tt.wantField, tt.wantMsg, 0)
		})
	}
}

func TestValidateDocumentReportsEveryProblem(t *testing.T) {
	_, ps := validate(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: 'bad name'\n  tags: [X]\nspec:\n  type: service\n")
	var got []string
	for _, p := range ps {
		got = append(got, p.Field)
	}
	want := []string{"metadata.name", "metadata.tags.0", "spec.lifecycle", "spec.owner"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got, want := ps[3].String(), "test.yaml:6: spec.owner: required"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidateDocumentNullOptionalFields(t *testing.T) {
	e, ps := validate(t, withMetadata("  name: a\n  namespace:\n  title:\n"))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if got, want := e.Metadata.Namespace, DefaultNamespace; got != want {
		t.Errorf("got namespace %q, want %q", got, want)
	}
}
