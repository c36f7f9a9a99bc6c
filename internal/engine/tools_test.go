package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

func TestImport(t *testing.T) {
	ctx := context.Background()
	dir := copyTree(t, "testdata/basic")
	writeFile(t, filepath.Join(dir, ".hidden", "skip.yaml"), component("hidden", "t"))
	e := newEngine(t, Config{})
	var calls [][2]int
	if err := e.Import(ctx, dir, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(calls) < 2 || calls[0] != [2]int{0, 6} || calls[len(calls)-1] != [2]int{6, 6} {
		t.Errorf("progress: got %v, want from 0/6 to 6/6", calls)
	}
	for _, ref := range []string{"component:default/payments", "component:default/web-admin", "user:default/ada", "api:default/payments-api", "location:default/basic"} {
		mustEntity(t, e, ref)
	}
	absent(t, e, "component:default/hidden")

	// A second import replaces the bucket: removed files' entities go.
	if err := os.Remove(filepath.Join(dir, "components", "web.yaml")); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "components", "broken.yaml")
	writeFile(t, broken, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\nspec: {}\n")
	// Outside components/, which the Location in catalog-info.yaml also
	// reads: a file it cannot parse would keep web as its child.
	syntax := filepath.Join(dir, "other", "syntax.yaml")
	writeFile(t, syntax, "kind: [\n")
	err := e.Import(ctx, dir, nil)
	var ps catalog.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Import with broken files: got %v, want problems", err)
	}
	want := []string{broken + ":5: spec.type: required", syntax + ":1: invalid YAML"}
	for _, w := range want {
		if !strings.Contains(ps.Error(), w) {
			t.Errorf("Import problems: got %q, want one starting %q", ps.Error(), w)
		}
	}
	absent(t, e, "component:default/web")
	mustEntity(t, e, "component:default/payments")

	if err := e.Import(ctx, filepath.Join(dir, "nope"), nil); err == nil {
		t.Errorf("Import of a missing dir: got nil, want an error")
	}
}

func TestValidatePaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok", "good.yaml"), component("good", "t"))
	writeFile(t, filepath.Join(dir, "ok", "api.yaml"), apiWithPlaceholder)
	writeFile(t, filepath.Join(dir, "ok", "openapi.yaml"), "openapi: 3.0.0\n")
	writeFile(t, filepath.Join(dir, "bad", "owner.yaml"), "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  type: service\n  lifecycle: production\n")
	writeFile(t, filepath.Join(dir, "bad", "placeholder.yaml"), strings.Replace(apiWithPlaceholder, "./openapi.yaml", "./missing.yaml", 1))
	writeFile(t, filepath.Join(dir, "bad", "syntax.yaml"), "kind: [\n")

	tests := []struct {
		name  string
		paths []string
		want  []string // substrings, one per problem
	}{
		{"valid dir", []string{filepath.Join(dir, "ok")}, nil},
		{"valid file", []string{filepath.Join(dir, "ok", "good.yaml")}, nil},
		{"invalid", []string{filepath.Join(dir, "bad")}, []string{
			filepath.Join(dir, "bad", "owner.yaml") + ":5: spec.owner",
			filepath.Join(dir, "bad", "placeholder.yaml") + ":9: spec.definition",
			filepath.Join(dir, "bad", "syntax.yaml") + ":",
		}},
		{"missing", []string{filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidatePaths(tt.paths, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems %v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("problem %d: got %q, want it to contain %q", i, got[i].String(), w)
				}
			}
		})
	}
	if _, err := ValidatePaths(nil, Limits{}); err == nil {
		t.Errorf("no paths: got nil, want an error")
	}
}

func TestValidateEntity(t *testing.T) {
	ctx := context.Background()
	defaults := catalog.DefaultRules()
	e := newEngine(t, Config{Rules: &defaults})
	tests := []struct {
		name     string
		location string
		entity   string
		want     string // "" for valid
	}{
		{"valid", "url:https://example.com/catalog-info.yaml",
			`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"x"},"spec":{"type":"service","lifecycle":"production","owner":"t"}}`, ""},
		{"invalid spec", "url:https://example.com/catalog-info.yaml",
			`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"x"},"spec":{"type":"service","lifecycle":"production"}}`, "spec.owner"},
		{"kind not allowed", "url:https://example.com/catalog-info.yaml",
			`{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"g"},"spec":{"type":"team","children":[]}}`, "not allowed"},
		{"bad location", "example.com", `{}`, "unable to parse location ref"},
		{"bad JSON", "url:https://example.com/x.yaml", `{"kind":`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.ValidateEntity(ctx, tt.location, json.RawMessage(tt.entity))
			if err != nil {
				t.Fatalf("got error %v, want problems", err)
			}
			if tt.name == "bad JSON" {
				if len(got) == 0 {
					t.Errorf("got no problems for bad JSON")
				}
				return
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("got %v, want no problems", got)
				}
				return
			}
			if len(got) == 0 || !strings.Contains(got[0].String(), tt.want) {
				t.Errorf("got %v, want a problem containing %q", got, tt.want)
			}
		})
	}
}

func TestAnalyzeLocation(t *testing.T) {
	ctx := context.Background()
	e, _, base := newURLEngine(t, map[string]string{"/org/repo/catalog-info.yaml": component("repo-svc", "t")})
	got, err := e.AnalyzeLocation(ctx, LocationSpec{Type: "url", Target: base + "/org/repo"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ExistingEntityFiles) != 1 || got.ExistingEntityFiles[0].Entity.Metadata.Name != "repo-svc" ||
		got.ExistingEntityFiles[0].IsRegistered || got.ExistingEntityFiles[0].Location.Target != base+"/org/repo/catalog-info.yaml" {
		t.Errorf("existing: got %+v, want repo-svc, not registered", got.ExistingEntityFiles)
	}

	got, err = e.AnalyzeLocation(ctx, LocationSpec{Type: "url", Target: base + "/org/My_Other.Repo/"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GenerateEntities) != 1 || len(got.ExistingEntityFiles) != 0 {
		t.Fatalf("generate: got %+v, want one proposal", got)
	}
	gen := got.GenerateEntities[0]
	if name := gen.Entity["metadata"].(map[string]any)["name"]; name != "my_other.repo" {
		t.Errorf("proposed name: got %v, want my_other.repo", name)
	}
	if len(gen.Fields) != 1 || gen.Fields[0].Field != "spec.owner" || gen.Fields[0].State != "needsUserInput" {
		t.Errorf("fields: got %+v, want spec.owner needsUserInput", gen.Fields)
	}

	_, err = e.AnalyzeLocation(ctx, LocationSpec{Type: "url", Target: "not a url"}, "")
	if !fault.Is(err, fault.Invalid) || fault.MessageOf(err) != "The given location.target is not a URL" {
		t.Errorf("bad URL: got %v, want InputError", err)
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "svc", "catalog-info.yaml"), component("local", "t"))
	got, err = e.AnalyzeLocation(ctx, LocationSpec{Type: "file", Target: filepath.Join(dir, "svc")}, "")
	if err != nil || len(got.ExistingEntityFiles) != 1 {
		t.Errorf("file: got %+v %v, want one entity", got, err)
	}
}

func TestGlobMatching(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"**/*.yaml", "a.yaml", true},
		{"**/*.yaml", "x/y/a.yaml", true},
		{"*.yaml", "x/a.yaml", false},
		{"x/**/c/*.yaml", "x/c/a.yaml", true},
		{"x/**/c/*.yaml", "x/1/2/c/a.yaml", true},
		{"x/**/c/*.yaml", "x/1/2/d/a.yaml", false},
		{"[ab].yml", "b.yml", true},
		{"**", "anything/at/all", true},
	}
	for _, tt := range tests {
		if got := matchSegments(strings.Split(tt.pattern, "/"), strings.Split(tt.path, "/")); got != tt.want {
			t.Errorf("match(%q, %q): got %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}

	dir := t.TempDir()
	for _, f := range []string{"a.yaml", "x/b.yaml", "x/y/c.yaml", "x/y/c.txt", "z/d.yaml"} {
		writeFile(t, filepath.Join(dir, f), "")
	}
	r := &FileReader{}
	got, err := r.Glob(context.Background(), filepath.Join(dir, "x", "**", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "x", "b.yaml"), filepath.Join(dir, "x", "y", "c.yaml")}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Glob: got %v, want %v", got, want)
	}
	if _, err := (&FileReader{MaxMatches: 2}).Glob(context.Background(), filepath.Join(dir, "**", "*.yaml")); !fault.Is(err, fault.TooLarge) {
		t.Errorf("Glob over the match limit: got %v, want PayloadTooLargeError", err)
	}
	if got, err := r.Glob(context.Background(), filepath.Join(dir, "nope", "*.yaml")); err != nil || len(got) != 0 {
		t.Errorf("Glob of a missing dir: got %v %v, want nothing", got, err)
	}
	if _, err := r.Read(context.Background(), "relative.yaml"); !fault.Is(err, fault.Invalid) {
		t.Errorf("Read of a relative path: got %v, want InputError", err)
	}
}
