package ui

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/scaffolder"
)

// sinkYAML is a parameter list with every kind of field the form draws.
const sinkYAML = `
- title: Basics
  required: [name, owner]
  ui:order: [name, owner, '*']
  properties:
    name: { title: Name, type: string, pattern: '^[a-z][a-z0-9-]*$', minLength: 3, maxLength: 20, ui:autofocus: true, description: Lowercase }
    owner: { title: Owner, type: string, ui:field: OwnerPicker }
    notes: { title: Notes, type: string, ui:widget: textarea, ui:help: Anything else }
    token: { title: Token, type: string, ui:field: Secret }
    password: { title: Password, type: string, ui:widget: password }
    fixed: { title: Fixed, type: string, default: locked, ui:readonly: true }
- title: Options
  properties:
    port: { title: Port, type: integer, default: 8080, minimum: 1024, maximum: 65535 }
    ratio: { title: Ratio, type: number }
    public: { title: Public, type: boolean, default: false }
    lifecycle: { title: Lifecycle, type: string, enum: [experimental, production], enumNames: [Experimental, Production], default: experimental }
    flavours: { title: Flavours, type: array, items: { type: string, enum: [a, b, c] }, uniqueItems: true }
    resources: { title: Resources, type: array, items: { type: string, pattern: '^[a-z]+$' }, minItems: 1, default: [items] }
    tags: { title: Tags, type: array, items: { type: string }, ui:field: EntityTagsPicker }
    repo: { title: Repository, type: string, ui:field: RepoUrlPicker, ui:options: { allowedHosts: [atrium, gitlab.example.com] } }
    system: { title: System, type: string, ui:field: EntityPicker, ui:options: { catalogFilter: { kind: [System] } } }
    database:
      title: Database
      type: object
      required: [engine]
      properties:
        engine: { title: Engine, type: string, enum: [postgres, mysql] }
        size: { title: Size, type: integer, default: 10 }
- title: Deployment
  required: [target]
  properties:
    target: { title: Target, type: string, enum: [kubernetes, vm] }
    monitoring: { title: Monitoring, type: boolean }
  dependencies:
    target:
      oneOf:
        - properties:
            target: { enum: [kubernetes] }
            namespace: { title: Namespace, type: string }
          required: [namespace]
        - properties:
            target: { enum: [vm] }
            hostname: { title: Hostname, type: string, pattern: '^[a-z.]+$' }
          required: [hostname]
    monitoring:
      properties:
        dashboard: { title: Dashboard URL, type: string }
`

func sinkPages(t testing.TB) []map[string]any {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal([]byte(sinkYAML), &raw); err != nil {
		t.Fatal(err)
	}
	// Through JSON, as the catalog hands parameters over.
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var pages []map[string]any
	if err := json.Unmarshal(b, &pages); err != nil {
		t.Fatal(err)
	}
	return pages
}

func fieldByName(fields []*Field, name string) *Field {
	for _, f := range fields {
		if f.Name == name {
			return f
		}
		if g := fieldByName(f.Fields, name); g != nil {
			return g
		}
	}
	return nil
}

func formField(t *testing.T, form *Form, name string) *Field {
	t.Helper()
	for _, p := range form.Pages {
		if f := fieldByName(p.Fields, name); f != nil {
			return f
		}
	}
	t.Fatalf("no field %s", name)
	return nil
}

func TestFieldWidgets(t *testing.T) {
	pages := sinkPages(t)
	form := buildForm(pages, state{values: defaults(pages)})
	tests := []struct {
		name, widget string
	}{
		{"v:name", wText}, {"v:owner", wEntity}, {"v:notes", wTextarea}, {"v:token", wSecret}, {"v:password", wSecret},
		{"v:fixed", wText}, {"v:port", wNumber}, {"v:ratio", wNumber}, {"v:public", wCheckbox}, {"v:lifecycle", wSelect},
		{"v:flavours", wChecks}, {"v:resources", wList}, {"v:tags", wTags}, {"v:repo", wRepoURL}, {"v:system", wEntity},
		{"v:database", wObject}, {"v:database/engine", wSelect}, {"v:database/size", wNumber},
		{"v:target", wSelect}, {"v:namespace", wText}, {"v:hostname", wText}, {"v:dashboard", wText},
	}
	for _, tt := range tests {
		if got := formField(t, form, tt.name).Widget; got != tt.widget {
			t.Errorf("%s: got widget %s, want %s", tt.name, got, tt.widget)
		}
	}
	name := formField(t, form, "v:name")
	if !name.Required || !name.Focus || name.MaxLength != 20 || name.Description != "Lowercase" {
		t.Errorf("name: got %+v, want required, autofocus, maxLength 20 and its description", name)
	}
	if f := formField(t, form, "v:notes"); f.Help != "Anything else" {
		t.Errorf("notes help: got %q", f.Help)
	}
	if f := formField(t, form, "v:fixed"); !f.ReadOnly || f.Value != "locked" {
		t.Errorf("fixed: got readOnly %v value %q, want read-only with its default", f.ReadOnly, f.Value)
	}
	if f := formField(t, form, "v:port"); f.Value != "8080" || f.Minimum != "1024" || f.Step() != "1" {
		t.Errorf("port: got value %q min %q step %q", f.Value, f.Minimum, f.Step())
	}
	lc := formField(t, form, "v:lifecycle")
	if len(lc.Options) != 2 || lc.Options[1].Label != "Production" || !lc.Options[0].Selected {
		t.Errorf("lifecycle options: got %+v, want labels from enumNames and the default selected", lc.Options)
	}
	if f := formField(t, form, "v:resources"); !reflect.DeepEqual(f.Items, []string{"items"}) {
		t.Errorf("resources: got %v, want the default [items]", f.Items)
	}
	if f := formField(t, form, "v:repo"); f.Host != "atrium" || !reflect.DeepEqual(f.Picker.AllowedHosts, []string{"atrium", "gitlab.example.com"}) {
		t.Errorf("repo: got host %q hosts %v", f.Host, f.Picker.AllowedHosts)
	}
	if f := formField(t, form, "v:database/size"); f.Value != "10" {
		t.Errorf("database size: got %q, want the nested default 10", f.Value)
	}
	// ui:order puts name and owner first; the rest are alphabetical.
	var order []string
	for _, f := range form.Pages[0].Fields {
		order = append(order, f.Key())
	}
	if want := []string{"name", "owner", "fixed", "notes", "password", "token"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order: got %v, want %v", order, want)
	}
	// Conditional fields start hidden: no target is chosen.
	for _, n := range []string{"v:namespace", "v:hostname", "v:dashboard"} {
		if f := formField(t, form, n); !f.Hidden || f.Cond == nil {
			t.Errorf("%s: got hidden %v cond %+v, want hidden with a condition", n, f.Hidden, f.Cond)
		}
	}
	if c := formField(t, form, "v:namespace").Cond; c.On != "v:target" || !reflect.DeepEqual(c.Values, []string{"kubernetes"}) {
		t.Errorf("namespace condition: got %+v", c)
	}
}

// sinkForm is a valid submission of every page.
func sinkForm() url.Values {
	return url.Values{
		"v:name": {"shop"}, "v:owner": {"team-a"}, "v:notes": {"line one\n  line two\n"}, "v:token": {" s3cret "},
		"v:password": {"hunter2"}, "v:fixed": {"changed"},
		"v:port": {"9090"}, "v:ratio": {"0.5"}, "v:public": {"true"}, "v:lifecycle": {"production"},
		"v:flavours": {"a", "c"}, "v:resources": {"orders", "", "items"}, "v:tags": {"go", ""},
		"v:repo#host": {"gitlab.example.com"}, "v:repo#owner": {"group/sub"}, "v:repo#repo": {"shop"},
		"v:system": {"system:default/webshop"}, "v:database/engine": {"postgres"}, "v:database/size": {"20"},
		"v:target": {"vm"}, "v:hostname": {"shop.example"}, "v:namespace": {"ignored"}, "v:monitoring": {"true"},
		"v:dashboard": {"https://grafana"},
	}
}

func TestDecode(t *testing.T) {
	pages := sinkPages(t)
	st := decode(pages, sinkForm(), nil)
	if len(st.errs) > 0 {
		t.Fatalf("errors: %v", st.errs)
	}
	want := map[string]any{
		"name": "shop", "owner": "group:default/team-a", "notes": "line one\n  line two", "token": " s3cret ",
		"password": "hunter2", "fixed": "locked",
		"port": int64(9090), "ratio": 0.5, "public": true, "lifecycle": "production",
		"flavours": []any{"a", "c"}, "resources": []any{"orders", "items"}, "tags": []any{"go"},
		"repo":     "gitlab.example.com?owner=group%2Fsub&repo=shop",
		"system":   "system:default/webshop",
		"database": map[string]any{"engine": "postgres", "size": int64(20)},
		"target":   "vm", "hostname": "shop.example", "monitoring": true, "dashboard": "https://grafana",
	}
	if !reflect.DeepEqual(st.values, want) {
		t.Errorf("values:\n got %#v\nwant %#v", st.values, want)
	}
	for i := range pages {
		errs, err := validatePage(pages[i], st.values)
		if err != nil || len(errs) > 0 {
			t.Errorf("page %d: got %v, %v; want no errors", i, errs, err)
		}
	}
}

func TestDecodeConditions(t *testing.T) {
	pages := sinkPages(t)
	form := sinkForm()
	form.Set("v:target", "kubernetes")
	form.Set("v:monitoring", "")
	st := decode(pages, form, nil)
	if st.values["namespace"] != "ignored" {
		t.Errorf("namespace: got %v, want it kept for target kubernetes", st.values["namespace"])
	}
	for _, k := range []string{"hostname", "dashboard"} {
		if v, ok := st.values[k]; ok {
			t.Errorf("%s: got %v, want it left out while its condition does not hold", k, v)
		}
	}
	built := buildForm(pages, st)
	if formField(t, built, "v:namespace").Hidden || !formField(t, built, "v:hostname").Hidden || !formField(t, built, "v:dashboard").Hidden {
		t.Errorf("visibility: namespace shown and hostname and dashboard hidden expected")
	}
	// The chosen branch's required field is enforced at that field.
	form.Del("v:namespace")
	st = decode(pages, form, nil)
	errs, err := validatePage(pages[2], st.values)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"v:namespace": "This field is required."}; !reflect.DeepEqual(errs, want) {
		t.Errorf("errors: got %v, want %v", errs, want)
	}
}

func TestValidationErrors(t *testing.T) {
	pages := sinkPages(t)
	tests := []struct {
		name  string
		page  int
		set   map[string][]string
		field string
		want  string
	}{
		{"required", 0, map[string][]string{"v:name": {""}}, "v:name", "This field is required."},
		{"pattern", 0, map[string][]string{"v:name": {"Shop"}}, "v:name", "Must match the pattern ^[a-z][a-z0-9-]*$."},
		{"minLength", 0, map[string][]string{"v:name": {"ab"}}, "v:name", "Must be at least 3 characters long."},
		{"not a number", 1, map[string][]string{"v:port": {"eighty"}}, "v:port", `Enter a whole number, not "eighty".`},
		{"minimum", 1, map[string][]string{"v:port": {"80"}}, "v:port", "Must be at least 1024."},
		{"enum", 1, map[string][]string{"v:lifecycle": {"retired"}}, "v:lifecycle", "Choose one of the listed values."},
		{"item pattern", 1, map[string][]string{"v:resources": {"orders", "Bad Items"}}, "v:resources", "At item 2: must match the pattern ^[a-z]+$."},
		{"minItems", 1, map[string][]string{"v:resources": {""}}, "v:resources", "Needs at least 1 item."},
		{"tag", 1, map[string][]string{"v:tags": {"Not A Tag"}}, "v:tags", `Tag "Not A Tag": use lowercase letters, digits, ':', '+' or '#' in words joined by '-', at most 63 characters.`},
		{"repo owner", 1, map[string][]string{"v:repo#owner": {""}}, "v:repo", "Enter the repository's owner."},
		{"repo host", 1, map[string][]string{"v:repo#host": {"evil.example"}}, "v:repo", `Host "evil.example" is not allowed here; choose one of: atrium, gitlab.example.com.`},
		{"entity kind", 1, map[string][]string{"v:system": {"component:default/x"}}, "v:system", "Pick an entity of kind System."},
		{"nested required", 1, map[string][]string{"v:database/engine": {""}}, "v:database/engine", "This field is required."},
		{"branch pattern", 2, map[string][]string{"v:hostname": {"Bad Host"}}, "v:hostname", "Must match the pattern ^[a-z.]+$."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := sinkForm()
			for k, v := range tt.set {
				form[k] = v
			}
			st := decode(pages, form, nil)
			errs, err := pageErrors(&scaffolder.Template{Ref: "template:default/sink", Pages: pages}, tt.page, st)
			if err != nil {
				t.Fatal(err)
			}
			if errs[tt.field] != tt.want {
				t.Errorf("error at %s: got %q (all: %v), want %q", tt.field, errs[tt.field], errs, tt.want)
			}
			// The value is kept as typed for the next render.
			built := buildForm(pages, st)
			f := formField(t, built, tt.field)
			if f.Widget == wRepoURL {
				want := strings.Join([]string{form.Get("v:repo#host"), form.Get("v:repo#owner"), form.Get("v:repo#repo")}, " ")
				if got := strings.Join([]string{f.Host, f.Owner, f.Repo}, " "); got != want {
					t.Errorf("repository kept: got %q, want %q", got, want)
				}
			}
			if v := tt.set[tt.field]; len(v) == 1 && f.Widget != wList && f.Widget != wTags && f.Value != strings.TrimSpace(v[0]) {
				t.Errorf("value kept: got %q, want %q", f.Value, v[0])
			}
		})
	}
}

func TestSplitSecrets(t *testing.T) {
	pages := sinkPages(t)
	st := decode(pages, sinkForm(), nil)
	values, secrets := splitSecrets(buildForm(pages, st), st.values)
	if want := map[string]string{"token": " s3cret ", "password": "hunter2"}; !reflect.DeepEqual(secrets, want) {
		t.Errorf("secrets: got %v, want %v", secrets, want)
	}
	if values["token"] != "********" || values["password"] != "*******" {
		t.Errorf("masked values: got token %v password %v", values["token"], values["password"])
	}
	if st.values["token"] != " s3cret " {
		t.Errorf("the form's own values changed: %v", st.values["token"])
	}
}

func TestReview(t *testing.T) {
	pages := sinkPages(t)
	st := decode(pages, sinkForm(), nil)
	rows := map[string]string{}
	for _, p := range review(buildForm(pages, st)) {
		for _, r := range p.Rows {
			rows[r.Label] = r.Value
		}
	}
	want := map[string]string{
		"Token": "******", "Password": "******", "Lifecycle": "Production", "Public": "Yes", "Flavours": "a, c",
		"Database › Engine": "postgres", "Hostname": "shop.example", "Repository": "gitlab.example.com?owner=group%2Fsub&repo=shop",
	}
	for k, v := range want {
		if rows[k] != v {
			t.Errorf("review %s: got %q, want %q", k, rows[k], v)
		}
	}
	if _, ok := rows["Namespace"]; ok {
		t.Errorf("review lists Namespace, hidden for target vm")
	}
}

func TestEffectiveSchemaPropertyDependency(t *testing.T) {
	s := map[string]any{
		"properties":   map[string]any{"a": map[string]any{"type": "string"}, "b": map[string]any{"type": "string"}},
		"dependencies": map[string]any{"a": []any{"b"}},
	}
	errs, err := validatePage(s, map[string]any{"a": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Errorf("a without b: got no error, want the property dependency enforced")
	}
}

func TestPickerFilter(t *testing.T) {
	tests := []struct {
		field   string
		options map[string]any
		want    string
	}{
		{"EntityPicker", map[string]any{"catalogFilter": map[string]any{"kind": []any{"System"}, "spec.type": "web"}}, "all(in(kind: system), in(spec.type: web))"},
		{"EntityPicker", map[string]any{"catalogFilter": []any{map[string]any{"kind": "Group"}, map[string]any{"metadata.annotations.x": map[string]any{"exists": true}}}}, "any(all(in(kind: group)), all(exists(metadata.annotations.x)))"},
		{"EntityPicker", map[string]any{"allowedKinds": []any{"Component", "API"}}, "in(kind: component, api)"},
		{"OwnerPicker", nil, "in(kind: group, user)"},
		{"EntityPicker", nil, "<nil>"},
	}
	for _, tt := range tests {
		f, err := pickerFilter(&Picker{Field: tt.field, options: tt.options})
		if err != nil {
			t.Fatal(err)
		}
		if got := filterString(f); got != tt.want {
			t.Errorf("%s %v: got %s, want %s", tt.field, tt.options, got, tt.want)
		}
	}
	if _, err := pickerFilter(&Picker{Field: "EntityPicker", options: map[string]any{"catalogFilter": map[string]any{"kind": 3.0}}}); err == nil || !strings.Contains(err.Error(), "catalogFilter.kind") {
		t.Errorf("a number as filter value: got %v, want an error naming catalogFilter.kind", err)
	}
}

func filterString(f *catalog.Filter) string {
	if f == nil {
		return "<nil>"
	}
	switch f.Op {
	case catalog.OpAll, catalog.OpAny, catalog.OpNot:
		name := map[catalog.FilterOp]string{catalog.OpAll: "all", catalog.OpAny: "any", catalog.OpNot: "not"}[f.Op]
		parts := make([]string, len(f.Children))
		for i, c := range f.Children {
			parts[i] = filterString(c)
		}
		return name + "(" + strings.Join(parts, ", ") + ")"
	}
	if f.Match == catalog.MatchExists {
		return "exists(" + f.Key + ")"
	}
	return "in(" + f.Key + ": " + strings.Join(f.Values, ", ") + ")"
}

func TestEntityPickerArbitraryValues(t *testing.T) {
	pages := []map[string]any{{"properties": map[string]any{
		"system": map[string]any{"type": "string", "ui:field": "EntityPicker",
			"ui:options": map[string]any{"allowedKinds": []any{"System"}, "allowArbitraryValues": false}},
	}}}
	exists := func(ref string) bool { return ref == "system:default/shop" }
	st := decode(pages, url.Values{"v:system": {"shop"}}, exists)
	if st.values["system"] != "system:default/shop" || len(st.errs) > 0 {
		t.Errorf("an existing system: got %v, errors %v", st.values, st.errs)
	}
	st = decode(pages, url.Values{"v:system": {"nope"}}, exists)
	if got := st.errs["v:system"]; got != "There is no entity system:default/nope in the catalog." {
		t.Errorf("a missing system: got %q", got)
	}
	if st.raw["v:system"] != "nope" {
		t.Errorf("the typed text is not kept: %v", st.raw)
	}
}
