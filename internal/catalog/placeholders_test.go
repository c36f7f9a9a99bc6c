package catalog

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestResolveTarget(t *testing.T) {
	urlBase := LocationRef{Type: "url", Target: "https://github.com/o/r/blob/main/services/pay/catalog-info.yaml"}
	fileBase := LocationRef{Type: "file", Target: "/srv/catalog/services/catalog-info.yaml"}
	tests := []struct {
		name   string
		base   LocationRef
		target string
		want   LocationRef
	}{
		{"url relative", urlBase, "./openapi.yaml", LocationRef{"url", "https://github.com/o/r/blob/main/services/pay/openapi.yaml"}},
		{"url parent", urlBase, "../../docs/api.yaml", LocationRef{"url", "https://github.com/o/r/blob/main/docs/api.yaml"}},
		{"url rooted", urlBase, "/x/y.yaml", LocationRef{"url", "https://github.com/x/y.yaml"}},
		{"absolute url", fileBase, "https://example.com/a.yaml", LocationRef{"url", "https://example.com/a.yaml"}},
		{"file relative", fileBase, "./api/openapi.yaml", LocationRef{"file", "/srv/catalog/services/api/openapi.yaml"}},
		{"file parent", fileBase, "../shared/x.yaml", LocationRef{"file", "/srv/catalog/shared/x.yaml"}},
		{"file absolute", fileBase, "/etc/../srv/x.yaml", LocationRef{"file", "/srv/x.yaml"}},
		{"relative file base", LocationRef{Type: "file", Target: "catalog/all.yaml"}, "teams.yaml", LocationRef{"file", "catalog/teams.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveTarget(tt.base, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []struct {
		base   LocationRef
		target string
	}{
		{urlBase, ""},
		{LocationRef{Type: "bootstrap", Target: "bootstrap"}, "./x.yaml"},
		{LocationRef{Type: "url", Target: "not/absolute"}, "./x.yaml"},
	} {
		if _, err := ResolveTarget(bad.base, bad.target); err == nil {
			t.Errorf("ResolveTarget(%v, %q): got no error", bad.base, bad.target)
		}
	}
}

// fakeFiles is a read function over an in-memory set of locations.
type fakeFiles map[string]string

func (f fakeFiles) read(_ context.Context, target string) ([]byte, error) {
	s, ok := f[target]
	if !ok {
		return nil, errors.New("not found")
	}
	return []byte(s), nil
}

func TestResolvePlaceholders(t *testing.T) {
	docs := mustParse(t, `apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: pay
  annotations:
    untouched: "$text"
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition:
    $text: ./openapi.yaml
  schema:
    $json: ./schema.json
  extra:
    - $yaml: https://example.com/extra.yaml
  twoKeys:
    $text: ./openapi.yaml
    other: 1
  notString:
    $text: 3
  unknown:
    $file: ./x
`)
	files := fakeFiles{
		"file:/cat/openapi.yaml":             "openapi: 3.0.0\n",
		"file:/cat/schema.json":              `{"type":"object","n":2}`,
		"url:https://example.com/extra.yaml": "a: [1, b]\n",
	}
	doc := docs[0]
	ps := ResolvePlaceholders(context.Background(), &doc, LocationRef{Type: "file", Target: "/cat/catalog-info.yaml"}, files.read)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	spec := doc.Raw["spec"].(map[string]any)
	want := map[string]any{
		"type": "openapi", "lifecycle": "production", "owner": "team-a",
		"definition": "openapi: 3.0.0\n",
		"schema":     map[string]any{"type": "object", "n": 2},
		"extra":      []any{map[string]any{"a": []any{1, "b"}}},
		"twoKeys":    map[string]any{"$text": "./openapi.yaml", "other": 1},
		"notString":  map[string]any{"$text": 3},
		"unknown":    map[string]any{"$file": "./x"},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("got %v, want %v", spec, want)
	}
	if _, ps := ValidateDocument(doc); len(ps) > 0 {
		t.Errorf("got problems %v after resolving", ps)
	}
}

func TestResolvePlaceholdersProblems(t *testing.T) {
	tests := []struct {
		name     string
		value    string
		files    fakeFiles
		wantLine int
		wantMsg  string
	}{
		{"missing file", "$text: ./nope.yaml", fakeFiles{}, 5, "placeholder $text failed to read file:/cat/nope.yaml: not found"},
		{"bad json", "$json: ./a.json", fakeFiles{"file:/cat/a.json": "{"}, 5, "placeholder $json failed to parse JSON from file:/cat/a.json"},
		{"bad yaml", "$yaml: ./a.yaml", fakeFiles{"file:/cat/a.yaml": "a: [\n"}, 5, "placeholder $yaml failed to parse YAML"},
		{"two yaml documents", "$yaml: ./a.yaml", fakeFiles{"file:/cat/a.yaml": "a: 1\n---\nb: 2\n"}, 5, "expected one YAML document"},
		{"yaml alias bomb", "$yaml: ./a.yaml", fakeFiles{"file:/cat/a.yaml": aliasBomb}, 5, "alias"},
		{"too large", "$text: ./big", fakeFiles{"file:/cat/big": strings.Repeat("x", MaxPlaceholderBytes+1)}, 5, "more than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs := mustParse(t, "kind: API\nmetadata:\n  name: a\nspec:\n  definition:\n    "+tt.value+"\n")
			doc := docs[0]
			ps := ResolvePlaceholders(context.Background(), &doc, LocationRef{Type: "file", Target: "/cat/x.yaml"}, tt.files.read)
			if len(ps) != 1 {
				t.Fatalf("got problems %v, want one", ps)
			}
			p := ps[0]
			if p.Field != "spec.definition" || p.Line != tt.wantLine || !strings.Contains(p.Message, tt.wantMsg) {
				t.Errorf("got %v, want spec.definition at line %v containing %q", p, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

func TestResolvePlaceholdersCancelled(t *testing.T) {
	docs := mustParse(t, "spec:\n  definition:\n    $text: ./a\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	doc := docs[0]
	ps := ResolvePlaceholders(ctx, &doc, LocationRef{Type: "file", Target: "/x"}, fakeFiles{"file:/a": "x"}.read)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "context canceled") {
		t.Errorf("got %v, want a cancellation problem", ps)
	}
}

const aliasBomb = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func TestResolvePlaceholdersYAMLTrailingSeparator(t *testing.T) {
	docs := mustParse(t, "spec:\n  definition:\n    $yaml: ./a.yaml\n")
	doc := docs[0]
	ps := ResolvePlaceholders(context.Background(), &doc, LocationRef{Type: "file", Target: "/x"}, fakeFiles{"file:/a.yaml": "a: 1\n---\n"}.read)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if got, want := doc.Raw["spec"].(map[string]any)["definition"], map[string]any{"a": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
