package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/fault"
)

func TestParsePredicate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Filter
	}{
		{"empty", ``, nil},
		{"null", `null`, nil},
		{"empty object", `{}`, All()},
		{"equality lowercased", `{"kind": "Component"}`, In("kind", "component")},
		{"implicit AND in key order", `{"spec.type": "service", "kind": "Component"}`, All(In("kind", "component"), In("spec.type", "service"))},
		{"number", `{"spec.replicas": 3}`, In("spec.replicas", "3")},
		{"float written whole", `{"spec.x": 1.0}`, In("spec.x", "1")},
		{"bool", `{"spec.enabled": true}`, In("spec.enabled", "true")},
		{"exists", `{"spec.owner": {"$exists": true}}`, Exists("spec.owner")},
		{"not exists", `{"spec.owner": {"$exists": false}}`, Not(Exists("spec.owner"))},
		{"in", `{"spec.type": {"$in": ["Service", "website", 1]}}`, In("spec.type", "service", "website", "1")},
		{"empty in", `{"spec.type": {"$in": []}}`, In("spec.type")},
		{"hasPrefix", `{"metadata.name": {"$hasPrefix": "Pay"}}`, Prefix("metadata.name", "pay")},
		{"contains tag", `{"metadata.tags": {"$contains": "Java"}}`, In("metadata.tags", "java")},
		{"contains relation", `{"relations": {"$contains": {"type": "ownedBy", "targetRef": "group:default/A"}}}`, In("relations.ownedby", "group:default/a")},
		{"contains relation in", `{"relations": {"$contains": {"type": "ownedBy", "targetRef": {"$in": ["group:default/a", "user:default/b"]}}}}`, In("relations.ownedby", "group:default/a", "user:default/b")},
		{"contains relation type only", `{"relations": {"$contains": {"type": "partOf"}}}`, Exists("relations.partof")},
		{"all", `{"$all": [{"kind": "a"}, {"kind": "b"}]}`, All(In("kind", "a"), In("kind", "b"))},
		{"empty all", `{"$all": []}`, All()},
		{"any", `{"$any": [{"kind": "a"}, {"spec.type": "b"}]}`, Any(In("kind", "a"), In("spec.type", "b"))},
		{"empty any", `{"$any": []}`, Any()},
		{"not", `{"$not": {"metadata.annotations.backstage.io/orphan": "true"}}`, Not(In("metadata.annotations.backstage.io/orphan", "true"))},
		{"backstage example", `{"$all":[{"kind":"Component","spec.type":{"$in":["service","website"]}},{"$not":{"metadata.annotations.backstage.io/orphan":"true"}}]}`,
			All(All(In("kind", "component"), In("spec.type", "service", "website")), Not(In("metadata.annotations.backstage.io/orphan", "true")))},
		{"keys lowercased", `{"Spec.Type": "x"}`, In("spec.type", "x")},
		{"sql metacharacters are values", `{"metadata.name": "x' OR 1=1; --"}`, In("metadata.name", "x' or 1=1; --")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePredicate(json.RawMessage(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if dump(got) != dump(tt.want) {
				t.Errorf("got %v, want %v", dump(got), dump(tt.want))
			}
		})
	}
}

func TestParsePredicateErrors(t *testing.T) {
	deep := strings.Repeat(`{"$not":`, MaxPredicateDepth+1) + `{"kind":"a"}` + strings.Repeat(`}`, MaxPredicateDepth+1)
	var wide strings.Builder
	wide.WriteString(`{"$any":[`)
	for i := range MaxFilterConditions + 1 {
		if i > 0 {
			wide.WriteString(",")
		}
		fmt.Fprintf(&wide, `{"k":"%d"}`, i)
	}
	wide.WriteString(`]}`)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"not json", `{`, "query is not valid JSON"},
		{"trailing data", `{} {}`, "unexpected data after the query object"},
		{"root array", `[]`, "query: expected an object, found a list"},
		{"root string", `"kind"`, "query: expected an object, found a string"},
		{"not as value matcher", `{"kind": {"$not": "a"}}`, `query.kind.$not: $not is not allowed as a value matcher`},
		{"unknown value operator", `{"kind": {"$eq": "a"}}`, `query.kind.$eq: unknown operator "$eq"`},
		{"unknown logical operator", `{"$or": []}`, `query.$or: unknown operator "$or"`},
		{"two operators", `{"kind": {"$in": [], "$exists": true}}`, "exactly one key"},
		{"nested path object", `{"metadata": {"name": "a"}}`, `query.metadata.name: "name" is not an operator; nested objects are not field paths, write the dot path as the key ("metadata.name")`},
		{"null value", `{"kind": null}`, "query.kind: expected a string, number, boolean or operator object, found null"},
		{"array value", `{"kind": ["a"]}`, "found a list"},
		{"exists not bool", `{"kind": {"$exists": "yes"}}`, "$exists needs true or false"},
		{"in not list", `{"kind": {"$in": "a"}}`, "$in needs a list"},
		{"in with object", `{"kind": {"$in": [{}]}}`, "query.kind.$in[0]: expected a string, number or boolean"},
		{"hasPrefix number", `{"kind": {"$hasPrefix": 1}}`, "$hasPrefix needs a string"},
		{"contains object on other key", `{"spec": {"$contains": {"type": "x"}}}`, "$contains needs a string"},
		{"relation without type", `{"relations": {"$contains": {"targetRef": "x"}}}`, "a relation needs a type string"},
		{"relation unknown field", `{"relations": {"$contains": {"type": "x", "target": "y"}}}`, "unknown relation field"},
		{"relation bad targetRef", `{"relations": {"$contains": {"type": "x", "targetRef": 1}}}`, "targetRef needs an entity ref string"},
		{"all not list", `{"$all": {}}`, "$all needs a list of expressions"},
		{"any item not object", `{"$any": ["kind"]}`, "query.$any[0]: expected an object, found a string"},
		{"not of non-object", `{"$not": "x"}`, "query.$not: expected an object"},
		{"empty key", `{"": "x"}`, "field path must not be empty"},
		{"too deep", deep, "nested more than 16 levels deep"},
		{"too wide", wide.String(), "$any has more than 50 expressions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePredicate(json.RawMessage(tt.in))
			if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), tt.want) {
				t.Errorf("got %v, want an InputError containing %q", err, tt.want)
			}
		})
	}
}
