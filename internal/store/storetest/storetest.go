// Package storetest is the conformance suite every store.Driver passes. Each
// engine's tests call Run with a function that opens a fresh, empty
// database; the suite migrates it and checks every documented behaviour.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// Run runs the conformance suite. open returns a new driver on an empty
// database that nothing else uses; it must arrange its own cleanup.
func Run(t *testing.T, open func(t testing.TB) store.Driver) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d store.Driver)
	}{
		{"Migrate", testMigrate},
		{"UpsertAndGet", testUpsertAndGet},
		{"UpsertInvalid", testUpsertInvalid},
		{"UIDStability", testUIDStability},
		{"Conflicts", testConflicts},
		{"BatchDuplicates", testBatchDuplicates},
		{"LargeBatch", testLargeBatch},
		{"RelationReplacement", testRelationReplacement},
		{"RelationOrder", testRelationOrder},
		{"SearchReplacement", testSearchReplacement},
		{"States", testStates},
		{"Filters", testFilters},
		{"FilterErrors", testFilterErrors},
		{"Order", testOrder},
		{"ThenBy", testThenBy},
		{"KindByName", testKindByName},
		{"KeysetPaging", testKeysetPaging},
		{"Offset", testOffset},
		{"Total", testTotal},
		{"CountOnly", testCountOnly},
		{"FacetsWithinKinds", testFacetsWithinKinds},
		{"FullText", testFullText},
		{"Facets", testFacets},
		{"Search", testSearch},
		{"GetByRefs", testGetByRefs},
		{"Delete", testDelete},
		{"CountAndRefs", testCountAndRefs},
		{"Recent", testRecent},
		{"Edges", testEdges},
		{"Locations", testLocations},
	}
	tests = append(tests, auditTests...)
	tests = append(tests, rateLimitTests...)
	tests = append(tests, authTests...)
	tests = append(tests, taskTests...)
	tests = append(tests, operationTests...)
	tests = append(tests, changeMarkTests...)
	tests = append(tests, bulkTests(tests)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := open(t)
			if err := d.Migrate(context.Background()); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			tt.fn(t, d)
		})
	}
}

// ent builds a record by hand, with search rows derived the way the catalog
// derives them: lowercased values, originals kept.
type ent struct {
	kind, ns, name string
	uid            string
	loc            string
	hash           string
	fields         [][2]string // key, original
	rels           []catalog.RelationRow
	text           string
	errors         []catalog.StatusItem
}

func newEnt(kind, name string) *ent {
	return &ent{kind: kind, ns: "default", name: name, uid: "uid-" + strings.ToLower(name), hash: "h1"}
}

func (e *ent) ref() string {
	return strings.ToLower(e.kind) + ":" + strings.ToLower(e.ns) + "/" + strings.ToLower(e.name)
}

func (e *ent) withUID(uid string) *ent { e.uid = uid; return e }
func (e *ent) withLoc(loc string) *ent { e.loc = loc; return e }
func (e *ent) withHash(h string) *ent  { e.hash = h; return e }
func (e *ent) withText(s string) *ent  { e.text = s; return e }
func (e *ent) withNS(ns string) *ent   { e.ns = ns; return e }
func (e *ent) set(key string, originals ...string) *ent {
	for _, o := range originals {
		e.fields = append(e.fields, [2]string{key, o})
	}
	return e
}

// rel adds a relation of this entity and its inverse.
func (e *ent) rel(typ, target, inverse string) *ent {
	e.rels = append(e.rels, catalog.RelationRow{Source: e.ref(), Type: typ, Target: target})
	if inverse != "" {
		e.rels = append(e.rels, catalog.RelationRow{Source: target, Type: inverse, Target: e.ref()})
	}
	return e
}

func (e *ent) record() catalog.Record {
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       e.kind,
		"metadata":   map[string]any{"name": e.name, "namespace": e.ns},
	})
	search := []catalog.SearchRow{
		{Key: "kind", Value: strings.ToLower(e.kind), Original: e.kind},
		{Key: "metadata.name", Value: strings.ToLower(e.name), Original: e.name},
		{Key: "metadata.namespace", Value: strings.ToLower(e.ns), Original: e.ns},
	}
	text := e.kind + " " + e.name
	for _, f := range e.fields {
		search = append(search, catalog.SearchRow{Key: f[0], Value: strings.ToLower(f[1]), Original: f[1]})
		text += " " + f[1]
	}
	if e.text != "" {
		text = e.text
	}
	return catalog.Record{
		UID: e.uid, Ref: e.ref(), Kind: e.kind, Namespace: e.ns, Name: e.name,
		Body: body, Hash: e.hash, LocationKey: e.loc,
		Relations: e.rels, Search: search, Text: text, Errors: e.errors,
	}
}

func upsert(t testing.TB, d store.Driver, ents ...*ent) store.EntityUpsertResult {
	t.Helper()
	recs := make([]catalog.Record, len(ents))
	for i, e := range ents {
		recs[i] = e.record()
	}
	res, err := d.EntityUpsert(context.Background(), store.EntityUpsertParams{Records: recs})
	if err != nil {
		t.Fatalf("EntityUpsert: %v", err)
	}
	return res
}

func getRef(t testing.TB, d store.Driver, ref string) *catalog.Stored {
	t.Helper()
	s, err := d.EntityGetByRef(context.Background(), ref)
	if err != nil {
		t.Fatalf("EntityGetByRef(%q): %v", ref, err)
	}
	return s
}

func list(t testing.TB, d store.Driver, p store.EntityListParams) store.EntityListResult {
	t.Helper()
	res, err := d.EntityList(context.Background(), p)
	if err != nil {
		t.Fatalf("EntityList(%+v): %v", p, err)
	}
	return res
}

func refsOf(items []*catalog.Stored) []string {
	out := make([]string, len(items))
	for i, it := range items {
		if it == nil {
			out[i] = "<nil>"
			continue
		}
		out[i] = it.Ref
	}
	return out
}

func sorted(ss []string) []string {
	out := slices.Clone(ss)
	sort.Strings(out)
	return out
}

func wantKind(t testing.TB, err error, k fault.Kind) {
	t.Helper()
	if got := fault.KindOf(err); err == nil || got != k {
		t.Fatalf("got error %v (kind %v), want kind %v", err, got, k)
	}
}

func eq[T comparable](t testing.TB, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func ptr(s string) *string { return &s }

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *p)
}
