package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

// The fuzz targets check that hostile input never panics and that what is
// accepted is consistent. Run one with, for example:
//
//	go test ./internal/catalog -run '^$' -fuzz FuzzParseDescriptors -fuzztime 60s

func FuzzParseDescriptors(f *testing.F) {
	for _, seed := range []string{
		withMetadata("  name: a\n  tags: [java]\n"),
		"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g\nspec:\n  type: team\n  children: []\n---\nkind: User\n",
		"a: &a [1, 2]\nb: *a\nc: {<<: {x: 1}}\n",
		"a: 1\na: 2\n",
		"- x\n",
		"a: \xff\n",
		"{a: [b, {c: d}]}",
		"? [a]\n: b\n",
		"a: !!binary aGVsbG8=\nb: !custom x\nc: 2001-12-14t21:59:43.10-05:00\n",
		aliasBomb,
		"a: &x\n  b: *x\n",
		"%YAML 1.2\n---\na: 1\n",
		strings.Repeat("[", 100),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := ParseDescriptors("fuzz.yaml", data, Limits{})
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("got error %T, want Problems", err)
			}
		}
		for _, d := range docs {
			if d.Raw == nil {
				t.Fatalf("got a document without content")
			}
			if _, err := json.Marshal(d.Raw); err != nil {
				t.Fatalf("document is not JSON-compatible: %v", err)
			}
			e, ps := ValidateDocument(d)
			if e == nil {
				if len(ps) == 0 {
					t.Fatalf("got no entity and no problems")
				}
				continue
			}
			_, _ = Relations(e)
			_ = SearchRows(e)
			_ = FullTextDocument(e)
			_ = d.LineOf("spec.owner")
		}
	})
}

func FuzzParseRef(f *testing.F) {
	for _, seed := range []string{
		"component:default/a", "a", "ns/a", "kind:a", "kind:ns/a:b", ":a", "k:/a", "a/", "a/b/c", " ", "group:Default/Team-A",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s, RefDefaults{Kind: "Group", Namespace: "x"})
		if err != nil {
			return
		}
		if r.Kind == "" || r.Namespace == "" || r.Name == "" {
			t.Fatalf("%q: got %+v with an empty part", s, r)
		}
		again, err := ParseRef(r.String(), RefDefaults{})
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", s, r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("%q: round trip got %v, want %v", s, again, r)
		}
	})
}

func FuzzParseFilterParams(f *testing.F) {
	for _, seed := range []string{
		"kind=component", "kind=component,spec.type=service", "metadata.tags.java", "=x", "a=", ",,,", "relations.ownedBy=group:default/a",
		"metadata.name=x' OR '1'='1", "k=a=b",
	} {
		f.Add(seed, "kind=api")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := ParseFilterParams([]string{a, b})
		if err != nil {
			return
		}
		checkFilter(t, got, 0)
	})
}

func FuzzParsePredicate(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"Component"}`,
		`{"$all":[{"kind":"Component","spec.type":{"$in":["service","website"]}},{"$not":{"metadata.annotations.backstage.io/orphan":"true"}}]}`,
		`{"$any":[]}`, `{"relations":{"$contains":{"type":"ownedBy","targetRef":{"$in":["a"]}}}}`,
		`{"metadata.tags":{"$contains":"java"}}`, `{"kind":{"$not":"a"}}`, `{"a":{"$exists":false}}`, `[]`, `null`, `{"a":1e400}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParsePredicate(data)
		if err != nil {
			return
		}
		checkFilter(t, got, 0)
	})
}

// checkFilter asserts the structural invariants the store relies on.
func checkFilter(t *testing.T, f *Filter, depth int) {
	t.Helper()
	if f == nil {
		return
	}
	if depth > 2*MaxPredicateDepth+2 {
		t.Fatalf("filter nested %d deep", depth)
	}
	switch f.Op {
	case OpAll, OpAny:
		for _, c := range f.Children {
			if c == nil {
				t.Fatalf("nil child")
			}
			checkFilter(t, c, depth+1)
		}
	case OpNot:
		if len(f.Children) != 1 || f.Children[0] == nil {
			t.Fatalf("not with %d children", len(f.Children))
		}
		checkFilter(t, f.Children[0], depth+1)
	case OpMatch:
		if f.Key == "" || f.Key != strings.ToLower(f.Key) {
			t.Fatalf("bad key %q", f.Key)
		}
		if f.Match == MatchPrefix && len(f.Values) != 1 {
			t.Fatalf("prefix with %d values", len(f.Values))
		}
		for _, v := range f.Values {
			if v != strings.ToLower(v) {
				t.Fatalf("value %q not lowercased", v)
			}
		}
	default:
		t.Fatalf("unknown op %d", f.Op)
	}
}
