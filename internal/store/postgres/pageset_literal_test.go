package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

// TestLiteralSlots checks that large statements are prepared in a
// connection's literalSlots slots, the least recently used one
// deallocated first, and that each name runs its own statement.
func TestLiteralSlots(t *testing.T) {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	stmt := func(i int) string {
		return fmt.Sprintf(sqlplan.LiteralMark+"SELECT %d /* %s */", i, strings.Repeat("x", largeStatement))
	}
	run := func(i int) string {
		t.Helper()
		name, err := literalName(ctx, c, stmt(i))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := c.QueryRow(ctx, name).Scan(&got); err != nil || got != i {
			t.Fatalf("statement %d under %s: got %d, %v", i, name, got, err)
		}
		return name
	}
	prepared := func() []string {
		t.Helper()
		rows, err := c.Query(ctx, "SELECT name FROM pg_prepared_statements WHERE name LIKE 'atrium_literal_%' ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	for i := range literalSlots {
		run(i)
	}
	first := run(0) // statement 0 is now the most recently used
	if again := run(0); again != first {
		t.Fatalf("statement 0 prepared again: %s, then %s", first, again)
	}
	// Two more statements take the slots of 1 and 2, the least recently
	// used; 0 keeps its slot.
	run(literalSlots)
	run(literalSlots + 1)
	if got := prepared(); len(got) != literalSlots {
		t.Fatalf("prepared: %v, want %d", got, literalSlots)
	}
	if name := run(0); name != first {
		t.Fatalf("statement 0 moved from %s to %s", first, name)
	}
	if got := prepared(); len(got) != literalSlots {
		t.Fatalf("prepared after reuse: %v, want %d", got, literalSlots)
	}
}

// literalRunner records the entity statements of pages.
type literalRunner struct {
	runner
	queries []string
}

func (r *literalRunner) EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error) {
	r.queries = append(r.queries, query)
	return r.runner.EntitiesGeneric(ctx, query, args)
}

func (r *literalRunner) EntitiesGenericThenText(ctx context.Context, query string, args []any, textQuery string, textArgs []any) ([]*catalog.Stored, string, error) {
	r.queries = append(r.queries, query)
	return r.runner.EntitiesGenericThenText(ctx, query, args, textQuery, textArgs)
}

// TestPagesNameTheirBitmap checks that an owners page testing the same
// cached sets as an earlier page names its bitmap as a literal instead of
// a parameter, and answers as the SQL filter does: with and without the
// total, paged by cursor, and after writes that change which entities the
// sets hold (a new bitmap, so a new statement).
func TestPagesNameTheirBitmap(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Small sets make small statements: prepare them in the slots too.
	defer func(n int) { largeStatement = n }(largeStatement)
	largeStatement = 256
	var recs []catalog.Record
	for i := range 400 {
		owner, life := "group:default/other", "experimental"
		switch i % 4 {
		case 0:
			owner = "group:default/mine"
		case 1:
			life = "production"
		}
		recs = append(recs, component(fmt.Sprintf("c-%03d", i), owner, life))
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	// The reference: the same filter with a condition the sets cannot
	// serve (full text that every entity matches), probed in SQL.
	reference := func(p store.EntityListParams) []string {
		t.Helper()
		p.FullText = &store.FullText{Term: "c-", Fields: []string{"metadata.name"}}
		res, err := sqlplan.List(ctx, sqlplan.Postgres, runner{db}, p)
		if err != nil {
			t.Fatal(err)
		}
		return componentNames(res.Items)
	}
	literal := func(qs []string) bool {
		return slices.ContainsFunc(qs, func(q string) bool { return strings.Contains(q, `get_bit('\x`) })
	}
	for round, write := range []catalog.Record{{}, component("c-002", "group:default/mine", "experimental"), component("c-000", "group:default/other", "experimental")} {
		if write.Ref != "" {
			if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{write}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, total := range []bool{true, false} {
			p := ownersPage()
			p.Limit, p.CountTotal = 7, total
			sawLiteral := false
			for page := range 6 {
				r := &literalRunner{runner: runner{db}}
				res, err := sqlplan.List(ctx, sqlplan.Postgres, r, p)
				if err != nil {
					t.Fatal(err)
				}
				sawLiteral = sawLiteral || literal(r.queries)
				if got, want := componentNames(res.Items), reference(p); !slices.Equal(got, want) {
					t.Fatalf("round %d, total %v, page %d: got %v, want %v", round, total, page, got, want)
				}
				last := res.Items[len(res.Items)-1]
				p.After = &store.Position{Value: last.SortValue, UID: last.UID}
			}
			if !sawLiteral {
				t.Fatalf("round %d, total %v: no page named its bitmap as a literal", round, total)
			}
		}
	}
}
