package catalog

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/fault"
)

func TestParseFilterParams(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want *Filter
	}{
		{"none", nil, nil},
		{"blank values ignored", []string{"", " , ,"}, nil},
		{"one equality", []string{"kind=Component"}, All(In("kind", "component"))},
		{"AND within a set", []string{"kind=component, spec.type=service"}, All(In("kind", "component"), In("spec.type", "service"))},
		{"OR across sets", []string{"kind=api", "kind=component"}, Any(All(In("kind", "api")), All(In("kind", "component")))},
		{"same key is IN", []string{"kind=component,kind=API"}, All(In("kind", "component", "api"))},
		{"keys lowercased before grouping", []string{"Kind=a,kind=b"}, All(In("kind", "a", "b"))},
		{"exists", []string{"spec.owner"}, All(Exists("spec.owner"))},
		{"exists then value", []string{"spec.owner,spec.owner=x"}, All(In("spec.owner", "x"))},
		{"empty value", []string{"spec.owner="}, All(In("spec.owner", ""))},
		{"first = splits", []string{"metadata.annotations.a=b=c"}, All(In("metadata.annotations.a", "b=c"))},
		{"trimmed", []string{"  kind =  Component  "}, All(In("kind", "component"))},
		{"key with slash", []string{"metadata.annotations.backstage.io/orphan=true"}, All(In("metadata.annotations.backstage.io/orphan", "true"))},
		{"relations key lowercased", []string{"relations.ownedBy=group:default/Team-A"}, All(In("relations.ownedby", "group:default/team-a"))},
		{"tag subkey", []string{"metadata.tags.java"}, All(Exists("metadata.tags.java"))},
		{"blank set among others", []string{"", "kind=a"}, All(In("kind", "a"))},
		{"magic value passes through", []string{"relations.ownedBy=__catalog:current_user_ref__"}, All(In("relations.ownedby", "__catalog:current_user_ref__"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFilterParams(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", dump(got), dump(tt.want))
			}
		})
	}
}

func TestParseFilterParamsSQLMetacharacters(t *testing.T) {
	for _, v := range []string{
		"x' OR '1'='1", `x"; DROP TABLE entities; --`, "%", "_", `\`, "a%_b", "$1", "?", "x) OR (1=1", "/* */", "\x00",
	} {
		got, err := ParseFilterParams([]string{"metadata.name=" + v})
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if want := All(In("metadata.name", strings.ToLower(strings.TrimSpace(v)))); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %v, want %v", v, dump(got), dump(want))
		}
	}
}

func TestParseFilterParamsErrors(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"empty key", []string{"kind=a", "=x"}, `"=x" is not a valid statement: filter[1] has a condition with an empty key`},
		{"blank key", []string{" = x"}, "empty key"},
		{"too many sets", many(MaxFilterSets+1, func(int) string { return "kind=a" }), "too many filter parameters"},
		{"too many conditions", []string{strings.Join(many(MaxFilterConditions+1, func(i int) string { return fmt.Sprintf("k%d=v", i) }), ",")}, "more than 50 conditions"},
		{"values of one key count as conditions", []string{strings.Join(many(MaxFilterValues+1, func(i int) string { return fmt.Sprintf("k=v%d", i) }), ",")}, "more than 50 conditions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFilterParams(tt.in)
			if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an InputError containing %q", err, tt.want)
			}
		})
	}
}

// dump renders a filter for failure messages.
func dump(f *Filter) string {
	if f == nil {
		return "<all>"
	}
	switch f.Op {
	case OpAll, OpAny:
		parts := make([]string, len(f.Children))
		for i, c := range f.Children {
			parts[i] = dump(c)
		}
		op := "all"
		if f.Op == OpAny {
			op = "any"
		}
		return op + "(" + strings.Join(parts, ", ") + ")"
	case OpNot:
		return "not(" + dump(f.Children[0]) + ")"
	}
	switch f.Match {
	case MatchExists:
		return f.Key + " exists"
	case MatchPrefix:
		return fmt.Sprintf("%s prefix %q", f.Key, f.Values[0])
	}
	return fmt.Sprintf("%s in %q", f.Key, f.Values)
}
