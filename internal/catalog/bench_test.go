package catalog

import (
	"testing"
)

// typicalDescriptor is a component as teams write them: a few annotations,
// tags, a link and the usual relations.
const typicalDescriptor = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-service
  title: Payments Service
  description: Takes card payments and settles them nightly.
  annotations:
    backstage.io/techdocs-ref: dir:.
    gitlab.com/project-slug: shop/payments-service
    backstage.io/source-location: url:https://gitlab.example.com/shop/payments-service/-/tree/main/
  tags:
    - java
    - payments
  links:
    - url: https://grafana.example.com/d/payments
      title: Dashboard
      icon: dashboard
spec:
  type: service
  lifecycle: production
  owner: group:team-payments
  system: checkout
  providesApis:
    - payments-api
  consumesApis:
    - ledger-api
  dependsOn:
    - resource:payments-db
`

// BenchmarkProcessEntity measures what ingesting one typical descriptor
// costs in this package: parse, validate, relations, search rows and the
// full-text document.
func BenchmarkProcessEntity(b *testing.B) {
	data := []byte(typicalDescriptor)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		docs, err := ParseDescriptors("catalog-info.yaml", data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		e, ps := ValidateDocument(docs[0])
		if len(ps) > 0 {
			b.Fatal(ps)
		}
		if _, ps := Relations(e); len(ps) > 0 {
			b.Fatal(ps)
		}
		_ = SearchRows(e)
		_ = FullTextDocument(e)
	}
}

// BenchmarkParseDescriptors isolates YAML parsing, the largest part.
func BenchmarkParseDescriptors(b *testing.B) {
	data := []byte(typicalDescriptor)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDescriptors("catalog-info.yaml", data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDocumentFromJSON(b *testing.B) {
	data := []byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"payments-service","title":"Payments Service","annotations":{"backstage.io/techdocs-ref":"dir:."},"tags":["java","payments"]},"spec":{"type":"service","lifecycle":"production","owner":"group:team-payments","system":"checkout","providesApis":["payments-api"],"dependsOn":["resource:payments-db"]}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DocumentFromJSON("body", data); err != nil {
			b.Fatal(err)
		}
	}
}
