package catalog

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// mustParse parses data as one file and fails the test on any problem.
func mustParse(t testing.TB, data string) []Document {
	t.Helper()
	docs, err := ParseDescriptors("test.yaml", []byte(data), Limits{})
	if err != nil {
		t.Fatalf("ParseDescriptors: %v", err)
	}
	return docs
}

// problemsOf returns err as Problems, failing the test when it is not.
func problemsOf(t testing.TB, err error) Problems {
	t.Helper()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got error %v (%T), want Problems", err, err)
	}
	return ps
}

func TestParseDescriptorsMultiDocument(t *testing.T) {
	docs := mustParse(t, `# leading comment
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: a
---
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: b
...
`)
	if got, want := len(docs), 2; got != want {
		t.Fatalf("got %v documents, want %v", got, want)
	}
	if got, want := docs[0].Line, 3; got != want {
		t.Errorf("got line %v, want %v", got, want)
	}
	if got, want := docs[1].Line, 9; got != want {
		t.Errorf("got line %v, want %v", got, want)
	}
	if got, want := docs[1].Raw["kind"], "API"; got != want {
		t.Errorf("got kind %v, want %v", got, want)
	}
}

func TestParseDescriptorsScalars(t *testing.T) {
	docs := mustParse(t, `
s: hello
q: "123"
i: 42
hex: 0x1F
neg: -7
f: 1.5
e: 1e3
t: true
F: False
yes: yes
n: null
tilde: ~
inf: .inf
nan: .nan
date: 2024-01-02
big: 123456789012345678901234567890
octal11: 0123
octal12: 0o17
bin: 0b101
under: 1_000
plus: +5
dot: .5
negfloat: -1.5e-3
list: [1, two, 3.0]
nested: {a: {b: [x]}}
1: numeric key
`)
	want := map[string]any{
		"s": "hello", "q": "123", "i": 42, "hex": 31, "neg": -7, "f": 1.5, "e": 1000.0,
		"t": true, "F": false, "yes": "yes", "n": nil, "tilde": nil, "inf": ".inf", "nan": ".nan",
		"date": "2024-01-02", "big": 1.2345678901234568e+29,
		"octal11": 123, "octal12": 15, "bin": "0b101", "under": "1_000", "plus": 5, "dot": 0.5, "negfloat": -0.0015,
		"list":   []any{1, "two", 3.0},
		"nested": map[string]any{"a": map[string]any{"b": []any{"x"}}},
		"1":      "numeric key",
	}
	if got := docs[0].Raw; !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestParseDescriptorsProblems(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		lim      Limits
		wantLine int
		wantMsg  string
		wantDocs int
	}{
		{"duplicate key", "a: 1\nb: 2\na: 3\n", Limits{}, 3, `mapping key "a" is already defined at line 1`, 0},
		{"duplicate nested key", "metadata:\n  name: x\n  name: y\n", Limits{}, 3, `mapping key "name" is already defined at line 2`, 0},
		{"syntax error", "a: b\n  c: d: e\n", Limits{}, 2, "invalid YAML", 0},
		{"tab indentation", "a:\n\tb: c\n", Limits{}, 2, "invalid YAML", 0},
		{"not a mapping", "- a\n- b\n", Limits{}, 1, "document 1 is a sequence, expected a mapping", 0},
		{"scalar document", "just text\n", Limits{}, 1, `document 1 is a scalar ("just text"), expected a mapping`, 0},
		{"second document bad", "a: 1\n---\n- x\n", Limits{}, 3, "document 2 is a sequence", 1},
		{"complex key", "? [a, b]\n: c\n", Limits{}, 1, "mapping keys must be strings", 0},
		{"too deep", "a: {b: {c: {d: 1}}}\n", Limits{MaxDepth: 3}, 1, "nested more than 3 levels deep", 0},
		{"too many documents", "a: 1\n---\nb: 2\n---\nc: 3\n", Limits{MaxDocuments: 2}, 5, "more than 2 documents", 2},
		{"too large", "a: 1234567890\n", Limits{MaxDocumentBytes: 8}, 0, "descriptor is 14 bytes, more than the limit of 8 bytes", 0},
		{"invalid utf-8", "a: ok\nb: \xff\xfe\n", Limits{}, 2, "not valid UTF-8 (invalid byte at column 4)", 0},
		{"self-referencing alias", "a: &x\n  b: *x\n", Limits{}, 2, "alias *x refers to a value that contains it", 0},
		{"bad merge", "a: &x 1\nb:\n  <<: *x\n", Limits{}, 3, `merge key "<<" needs a mapping`, 0},
		{"unknown alias", "a: *nope\n", Limits{}, 0, "invalid YAML: unknown anchor 'nope' referenced", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ParseDescriptors("f.yaml", []byte(tt.data), tt.lim)
			ps := problemsOf(t, err)
			if got, want := len(docs), tt.wantDocs; got != want {
				t.Errorf("got %v documents, want %v", got, want)
			}
			p := ps[0]
			if got, want := p.File, "f.yaml"; got != want {
				t.Errorf("got file %v, want %v", got, want)
			}
			if got, want := p.Line, tt.wantLine; got != want {
				t.Errorf("got line %v, want %v (%v)", got, want, p)
			}
			if !strings.Contains(p.Message, tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", p.Message, tt.wantMsg)
			}
		})
	}
}

func TestParseDescriptorsEmpty(t *testing.T) {
	for _, data := range []string{"", "\n", "# only a comment\n", "---\n", "---\n---\n...\n", "~\n"} {
		docs, err := ParseDescriptors("f.yaml", []byte(data), Limits{})
		if err != nil || len(docs) != 0 {
			t.Errorf("%q: got %v documents and %v, want none and no error", data, len(docs), err)
		}
	}
}

func TestParseDescriptorsMergeKeys(t *testing.T) {
	docs := mustParse(t, `
base: &base {a: 1, b: 2}
other: &other {b: 20, c: 30}
x:
  <<: [*base, *other]
  a: 10
`)
	want := map[string]any{"a": 10, "b": 2, "c": 30}
	if got := docs[0].Raw["x"]; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseDescriptorsAliasBomb(t *testing.T) {
	bomb := `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
	_, err := ParseDescriptors("bomb.yaml", []byte(bomb), Limits{})
	ps := problemsOf(t, err)
	if !strings.Contains(ps[0].Message, "alias") {
		t.Errorf("got %q, want an alias expansion problem", ps[0].Message)
	}

	// A few legitimate aliases are fine.
	docs := mustParse(t, "a: &a {x: 1}\nb: *a\nc: [*a, *a]\n")
	if got, want := docs[0].Raw["c"], []any{map[string]any{"x": 1}, map[string]any{"x": 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseDescriptorsAliasRatio(t *testing.T) {
	// Under MaxNodes, but aliases expand to far more than was written.
	var b strings.Builder
	b.WriteString("a: &a [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("x")
	}
	b.WriteString("]\nb: [")
	for i := range 30 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("*a")
	}
	b.WriteString("]\n")
	_, err := ParseDescriptors("f.yaml", []byte(b.String()), Limits{MaxNodes: 1 << 30})
	ps := problemsOf(t, err)
	if !strings.Contains(ps[0].Message, "aliases expand to more than 10 times") {
		t.Errorf("got %q, want the alias ratio problem", ps[0].Message)
	}
}

func TestParseDescriptorsTenMegabytes(t *testing.T) {
	data := []byte("a: " + strings.Repeat("x", 10<<20) + "\n")
	_, err := ParseDescriptors("big.yaml", data, Limits{})
	ps := problemsOf(t, err)
	if want := "more than the limit of 1048576 bytes"; !strings.Contains(ps[0].Message, want) {
		t.Errorf("got %q, want it to contain %q", ps[0].Message, want)
	}
}

func TestParseDescriptorsDeepNesting(t *testing.T) {
	for _, data := range []string{
		strings.Repeat("[", 1000) + strings.Repeat("]", 1000),
		"a: " + strings.Repeat("{b: ", 1000) + "1" + strings.Repeat("}", 1000),
		func() string {
			var b strings.Builder
			for i := range 1000 {
				b.WriteString(strings.Repeat(" ", i) + "k:\n")
			}
			return b.String()
		}(),
	} {
		_, err := ParseDescriptors("deep.yaml", []byte(data), Limits{})
		if err == nil {
			t.Fatalf("got no error, want a nesting problem")
		}
		ps := problemsOf(t, err)
		if !strings.Contains(ps[0].Message, "nested more than 64 levels") && !strings.Contains(ps[0].Message, "expected a mapping") {
			t.Errorf("got %q, want a nesting problem", ps[0].Message)
		}
	}
}

func TestLineOf(t *testing.T) {
	docs := mustParse(t, `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: a
  annotations:
    backstage.io/orphan: "true"
  tags:
    - java
    - go
spec:
  owner: x
`)
	d := docs[0]
	tests := []struct {
		path string
		want int
	}{
		{"kind", 2},
		{"metadata", 3},
		{"metadata.name", 4},
		{"metadata.annotations.backstage.io/orphan", 6},
		{"metadata.tags.1", 9},
		{"metadata.tags.7", 7},
		{"spec.owner", 11},
		{"spec.lifecycle", 10},
		{"nothing.here", 1},
		{"", 1},
	}
	for _, tt := range tests {
		if got := d.LineOf(tt.path); got != tt.want {
			t.Errorf("LineOf(%q): got %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestDocumentFromJSON(t *testing.T) {
	d, err := DocumentFromJSON("body", []byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"a","x":1.5,"n":3},"spec":{"l":[true,null]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
		"metadata": map[string]any{"name": "a", "x": 1.5, "n": 3},
		"spec":     map[string]any{"l": []any{true, nil}},
	}
	if !reflect.DeepEqual(d.Raw, want) {
		t.Errorf("got %v, want %v", d.Raw, want)
	}
	if got, want := d.LineOf("spec.l"), 0; got != want {
		t.Errorf("got line %v, want %v", got, want)
	}

	bad := []struct {
		in, want string
	}{
		{``, "unexpected end of input"},
		{`[]`, "must be a JSON object, found an array"},
		{`"x"`, "must be a JSON object, found a string"},
		{`{"a":1,"a":2}`, `object key "a" is defined twice`},
		{`{"a":1} {}`, "unexpected data after"},
		{`{"a":`, "invalid JSON"},
		{"{\"a\":\"\xff\"}", "not valid UTF-8"},
		{strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), "nested more than 64 levels"},
		{`{"a":[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `]}`, "nested more than 64 levels"},
	}
	for _, tt := range bad {
		_, err := DocumentFromJSON("body", []byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%.40q: got %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}
