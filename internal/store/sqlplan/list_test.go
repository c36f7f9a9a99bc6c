package sqlplan

import (
	"context"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// queryRunner records the queries it is asked and answers them with nothing.
type queryRunner struct {
	entities, counts []string
}

func (r *queryRunner) Entities(ctx context.Context, q string, args []any) ([]*catalog.Stored, error) {
	r.entities = append(r.entities, q)
	return nil, nil
}

func (r *queryRunner) Count(ctx context.Context, q string, args []any) (int, error) {
	r.counts = append(r.counts, q)
	return 0, nil
}

// TestCountOnlyQueries: a count alone runs no page query, and on SQLite
// its kind condition is lower(e.kind), which the kind index serves, while
// pages keep reading the row's column.
func TestCountOnlyQueries(t *testing.T) {
	f := catalog.Any(catalog.In("kind", "component"), catalog.In("spec.type", "website"))
	r := &queryRunner{}
	if _, err := List(context.Background(), SQLite, r, store.EntityListParams{Filter: f, Limit: 1, CountOnly: true}); err != nil {
		t.Fatal(err)
	}
	if len(r.entities) != 0 {
		t.Errorf("page queries: got %q, want none", r.entities)
	}
	if len(r.counts) != 1 || !strings.Contains(r.counts[0], "lower(e.kind) IN") {
		t.Errorf("count queries: got %q, want one with lower(e.kind)", r.counts)
	}
	r = &queryRunner{}
	if _, err := List(context.Background(), SQLite, r, store.EntityListParams{Filter: f, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if len(r.entities) != 1 || !strings.Contains(r.entities[0], "e.kind COLLATE NOCASE IN") {
		t.Errorf("page queries: got %q, want one with e.kind COLLATE NOCASE", r.entities)
	}
}

// TestPostgresKindIsTheColumn: on PostgreSQL a kind condition beside a
// relation leaf compares the entity row's kind, which costs the database
// no probe of the search rows per candidate and less planning; a kind
// without a relation leaf stays a probe of the search rows, which the plan
// can start from.
func TestPostgresKindIsTheColumn(t *testing.T) {
	tests := []struct {
		name   string
		filter *catalog.Filter
		column bool
	}{
		{"beside a relation", catalog.All(catalog.In("kind", "Component"), catalog.In("relations.ownedBy", "group:default/team-a")), true},
		{"alone", catalog.In("kind", "Domain"), false},
		{"beside a search key", catalog.All(catalog.In("kind", "Component"), catalog.In("spec.type", "service")), false},
		{"under an OR", catalog.Any(catalog.In("kind", "Component"), catalog.In("relations.ownedBy", "group:default/team-a")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &queryRunner{}
			if _, err := List(context.Background(), Postgres, r, store.EntityListParams{Filter: tt.filter, Limit: 100}); err != nil {
				t.Fatal(err)
			}
			if len(r.entities) != 1 {
				t.Fatalf("page queries: got %q, want one", r.entities)
			}
			q := r.entities[0]
			column := strings.Contains(q, "lower(e.kind) = ANY(")
			probe := strings.Contains(q, "fs.key")
			if column != tt.column || probe == tt.column {
				t.Errorf("page query: got %q, want the kind column %v", q, tt.column)
			}
		})
	}
}

// relationsRunner is a queryRunner with a relations column.
type relationsRunner struct{ queryRunner }

func (r *relationsRunner) RelationsColumn() string { return "(RELS)" }

// TestListSelectsRelationsColumn: every page query of a RelationsRunner
// selects its relations column right after the sort value.
func TestListSelectsRelationsColumn(t *testing.T) {
	f := catalog.All(catalog.In("kind", "component"), catalog.In("relations.ownedby", "group:default/team-a"))
	sv := "v"
	tests := []struct {
		name string
		p    store.EntityListParams
	}{
		{"by uid", store.EntityListParams{Filter: f, Limit: 10}},
		{"by a field", store.EntityListParams{Filter: f, Limit: 10, Order: &store.Order{Field: "spec.type"}}},
		{"by a field after a cursor", store.EntityListParams{Filter: f, Limit: 10, Order: &store.Order{Field: "spec.type"}, After: &store.Position{Value: &sv, UID: "u"}}},
		{"one kind by name", store.EntityListParams{Filter: catalog.In("kind", "component"), Limit: 10, Order: &store.Order{Field: "metadata.name"}}},
		{"by several keys", store.EntityListParams{Filter: f, Limit: 10, Order: &store.Order{Field: "spec.type"}, ThenBy: []store.Order{{Field: "metadata.name"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &relationsRunner{}
			if _, err := List(context.Background(), Postgres, r, tt.p); err != nil {
				t.Fatal(err)
			}
			if len(r.entities) == 0 {
				t.Fatal("got no page query")
			}
			for _, q := range r.entities {
				if !strings.Contains(q, ", (RELS) FROM ") {
					t.Errorf("page query: got %q, want the relations column after the sort value", q)
				}
			}
		})
	}
}
