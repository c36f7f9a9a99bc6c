package postgres

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// TestChangesSinceSeesLateCommits: a transaction that wrote an entity
// before a check but commits after it is reported by the next check from
// the mark that check returned, though its log row's xid is older than
// the check.
func TestChangesSinceSeesLateCommits(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	rec := catalog.Record{UID: "uid-a", Ref: "component:default/a", Kind: "Component", Namespace: "default", Name: "a",
		Body: []byte(`{"kind":"Component","metadata":{"name":"a"}}`), Hash: "h1"}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec}}); err != nil {
		t.Fatal(err)
	}
	mark, _, err := db.EntityChangesSince(ctx, store.ChangeMark{})
	if err != nil {
		t.Fatal(err)
	}
	// A write in flight: it has its xid and its log row, not committed.
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "UPDATE entities SET hash = 'h2' WHERE ref = 'component:default/a'"); err != nil {
		t.Fatal(err)
	}
	// Later transactions commit meanwhile (others' unrelated work).
	for range 3 {
		if _, err := db.pool.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
			t.Fatal(err)
		}
	}
	mark, changed, err := db.EntityChangesSince(ctx, mark)
	if err != nil || changed {
		t.Fatalf("before the commit: changed %v, %v, want no change", changed, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	next, changed, err := db.EntityChangesSince(ctx, mark)
	if err != nil || !changed {
		t.Fatalf("after the commit: changed %v, %v, want a change", changed, err)
	}
	if _, changed, err := db.EntityChangesSince(ctx, next); err != nil || changed {
		t.Fatalf("checked again: changed %v, %v, want no change", changed, err)
	}
}
