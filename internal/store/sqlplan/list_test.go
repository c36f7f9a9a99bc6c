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

// TestPostgresKindIsTheColumn: on PostgreSQL a kind condition compares the
// entity row's kind, which costs the database no probe of the search rows
// per candidate and less planning.
func TestPostgresKindIsTheColumn(t *testing.T) {
	f := catalog.All(catalog.In("kind", "Component"), catalog.In("relations.ownedBy", "group:default/team-a"))
	r := &queryRunner{}
	if _, err := List(context.Background(), Postgres, r, store.EntityListParams{Filter: f, Limit: 100}); err != nil {
		t.Fatal(err)
	}
	if len(r.entities) != 1 {
		t.Fatalf("page queries: got %q, want one", r.entities)
	}
	q := r.entities[0]
	if !strings.Contains(q, "lower(e.kind) = ANY(") || strings.Contains(q, "fs.key") {
		t.Errorf("page query: got %q, want lower(e.kind) and no search probe", q)
	}
}
