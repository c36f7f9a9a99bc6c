package app_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestByRefsUnderAuthorization checks POST /entities/by-refs, which serves
// final JSON from the engine's entity cache: the secret entity sam's reads
// put in the cache is null for jane every time, with and without fields
// and a filter, and every answer keeps the refs' order and a null for each
// missing, invalid or filtered-out ref.
func TestByRefsUnderAuthorization(t *testing.T) {
	s, jane, sam, _ := authzServer(t)
	const refs = `["component:default/vault","component:default/a-svc","component:default/missing","Component:default/B-SVC","component:default/vault","component:default/a-prod"]`
	names := func(token, query, body string) string {
		t.Helper()
		var got struct {
			Items []json.RawMessage `json:"items"`
		}
		if code := call(t, s, token, "POST", "/api/catalog/entities/by-refs"+query, body, &got); code != 200 {
			t.Fatalf("%s %s: got %d", query, body, code)
		}
		out := make([]string, len(got.Items))
		for i, it := range got.Items {
			if string(it) == "null" {
				out[i] = "-"
				continue
			}
			var e namedEntity
			if err := json.Unmarshal(it, &e); err != nil {
				t.Fatal(err)
			}
			out[i] = e.Metadata.Name
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		name, query, body string
		sam, jane         string
	}{
		{"whole", "", `{"entityRefs":` + refs + `}`,
			"vault a-svc - b-svc vault a-prod", "- a-svc - b-svc - a-prod"},
		{"fields", "", `{"entityRefs":` + refs + `,"fields":["kind","metadata.name"]}`,
			"vault a-svc - b-svc vault a-prod", "- a-svc - b-svc - a-prod"},
		{"filter", "?filter=spec.lifecycle=experimental", `{"entityRefs":` + refs + `}`,
			"vault a-svc - b-svc vault -", "- a-svc - b-svc - -"},
		{"filter and fields", "?filter=metadata.name=vault&filter=metadata.name=a-prod", `{"entityRefs":` + refs + `,"fields":["metadata.name"]}`,
			"vault - - - vault a-prod", "- - - - - a-prod"},
	}
	// sam first, so that the secret entity is in the cache when jane asks,
	// then alternately.
	for round := range 3 {
		for _, tc := range tests {
			if got := names(sam, tc.query, tc.body); got != tc.sam {
				t.Errorf("round %d, %s, sam: got %s, want %s", round, tc.name, got, tc.sam)
			}
			if got := names(jane, tc.query, tc.body); got != tc.jane {
				t.Errorf("round %d, %s, jane: got %s, want %s", round, tc.name, got, tc.jane)
			}
		}
	}
}
