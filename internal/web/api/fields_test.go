package api

import (
	"testing"

	"github.com/atrium-portal/atrium/internal/engine"
)

// decodedOnly hides the engine's final-JSON reads, so that the API answers
// through its decoding path.
type decodedOnly struct{ engine.Catalog }

const fieldsCatalog = engineCatalog + `---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: html
  title: "<b>Bold</b> & co"
  description: "a \"quoted\" <tag> \u2028 déjà"
  labels: { b: "2", a: "1" }
  annotations: { example.com/tier: "<gold>", a.b: dotted }
  tags: [x, y]
  links: [{ url: "https://x?a=1&b=2", title: "X" }]
spec: { type: service, lifecycle: production, owner: team-a, nested: { z: 1.5, a: [1, "two", null] } }
`

// TestEngineEntitiesFieldsMatchDecoded: GET /entities and by-query with
// fields answer from the engine's final JSON exactly what the decoding
// path answers, byte for byte.
func TestEngineEntitiesFieldsMatchDecoded(t *testing.T) {
	e, _ := newTestEngine(t, fieldsCatalog)
	raw, dec := newServer(New(Params{Catalog: e})), newServer(New(Params{Catalog: decodedOnly{e}}))
	for _, fields := range []string{
		"metadata.name", "kind,metadata.name,metadata.title", "metadata", "spec", "relations", "metadata.annotations.a.b",
		"metadata.links,metadata.description", "spec.nested.a,spec.nested", "status", "nothing", "metadata.labels,kind",
	} {
		for _, path := range []string{
			"/api/catalog/entities?order=asc:metadata.name&fields=" + fields,
			"/api/catalog/entities?order=asc:metadata.name&limit=3&fields=" + fields,
			"/api/catalog/entities/by-query?orderField=metadata.name&fields=" + fields,
		} {
			got, want := call(t, raw, "GET", path, ""), call(t, dec, "GET", path, "")
			if got.status != 200 || got.status != want.status || string(got.body) != string(want.body) {
				t.Errorf("%s:\ngot  %d %s\nwant %d %s", path, got.status, got.body, want.status, want.body)
			}
		}
	}
	for _, path := range []string{"/api/catalog/entities?fields=metadata.tags[0]", "/api/catalog/entities?limit=2&fields=metadata.tags[0]"} {
		got, want := call(t, raw, "GET", path, ""), call(t, dec, "GET", path, "")
		if got.status != 400 || string(got.body) != string(want.body) {
			t.Errorf("%s: got %d %s, want 400 %s", path, got.status, got.body, want.body)
		}
	}
}
