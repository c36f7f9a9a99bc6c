package postgres

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// TestLookupsCoalesced holds the entities table locked while lookups by
// ref and by uid, found and not, pile up behind the first statements, then
// checks that they were sent together and that each caller got its own
// entity (with its relations and status items) or its own NotFound.
func TestLookupsCoalesced(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	const n = 6
	var recs []catalog.Record
	for i := range n {
		ref := fmt.Sprintf("component:default/c%d", i)
		r := catalog.Record{
			UID: fmt.Sprintf("u%d", i), Ref: ref, Kind: "Component", Namespace: "default", Name: fmt.Sprintf("c%d", i),
			Body: []byte(fmt.Sprintf(`{"kind":"Component","metadata":{"name":"c%d"}}`, i)), Hash: "h",
			Relations: []catalog.RelationRow{
				{Source: ref, Type: "ownedBy", Target: "group:default/team"},
				{Source: ref, Type: "dependsOn", Target: fmt.Sprintf("component:default/c%d", (i+1)%n)},
			},
		}
		if i == 0 {
			r.Errors = []catalog.StatusItem{{Type: "backstage.io/catalog-processing", Level: "error", Message: "bad",
				Error: &catalog.StatusError{Name: "InputError", Message: "bad"}}}
		}
		recs = append(recs, r)
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs}); err != nil {
		t.Fatal(err)
	}
	// The answers a lookup must give, read one at a time while idle.
	want := map[string]*catalog.Stored{}
	for _, r := range recs {
		s, err := db.EntityGetByRef(ctx, r.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Relations) != 2 || (r.Name == "c0") != (len(s.Errors) == 1) {
			t.Fatalf("%s: relations %v, status items %v", r.Ref, s.Relations, s.Errors)
		}
		want[r.Ref] = s
	}

	var schema string
	if err := db.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	locker, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{schema, "entities"}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	before := db.byRef.statements.Load() + db.byUID.statements.Load()

	type ask struct {
		byUID bool
		key   string
		want  string // the ref found, "" for NotFound
	}
	var asks []ask
	for i := range n {
		asks = append(asks,
			ask{false, fmt.Sprintf("Component:default/C%d", i), fmt.Sprintf("component:default/c%d", i)},
			ask{true, fmt.Sprintf("u%d", i), fmt.Sprintf("component:default/c%d", i)},
			ask{false, fmt.Sprintf("component:default/none%d", i), ""},
			ask{true, fmt.Sprintf("U%d", i), ""}, // uids are exact
		)
	}
	asks = append(asks, asks[0], asks[1]) // the same key twice
	var wg sync.WaitGroup
	errs := make(chan error, len(asks))
	got := make([]*catalog.Stored, len(asks))
	for i, a := range asks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s *catalog.Stored
			var err error
			if a.byUID {
				s, err = db.EntityGetByUID(ctx, a.key)
			} else {
				s, err = db.EntityGetByRef(ctx, a.key)
			}
			switch {
			case a.want == "" && !fault.Is(err, fault.NotFound):
				errs <- fmt.Errorf("%s: got %v, %v, want NotFound", a.key, s, err)
			case a.want == "" && !strings.Contains(err.Error(), a.key):
				errs <- fmt.Errorf("%s: NotFound %q does not name the key", a.key, err)
			case a.want != "" && err != nil:
				errs <- fmt.Errorf("%s: %v", a.key, err)
			}
			got[i] = s
		}()
	}
	// Every lookup is either in a statement held by the lock or queued.
	for {
		db.byRef.mu.Lock()
		db.byUID.mu.Lock()
		waiting := len(db.byRef.queue) + len(db.byUID.queue)
		db.byUID.mu.Unlock()
		db.byRef.mu.Unlock()
		if waiting == len(asks)-2*lookupStatements {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, a := range asks {
		if a.want == "" || got[i] == nil {
			continue
		}
		w := want[a.want]
		s := got[i]
		if !reflect.DeepEqual(s, w) {
			t.Errorf("%s: got %+v, want %+v", a.key, s, w)
		}
	}
	if got[0] == got[len(asks)-2] {
		t.Errorf("two lookups of %s share one entity", asks[0].key)
	}
	// Two statements of each kind held by the lock, then at most one batch
	// of each kind for the rest.
	if sent := db.byRef.statements.Load() + db.byUID.statements.Load() - before; sent > 4*lookupStatements {
		t.Errorf("statements for %d lookups: got %d, want at most %d", len(asks), sent, 4*lookupStatements)
	}
}

// TestLookupsRunGenericPlans checks that lookups by ref and by uid run on
// connections of their own under a generic plan, planned once per
// connection (see lookupPoolConfig), and that the rest of the store keeps
// planning each execution for its values.
func TestLookupsRunGenericPlans(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	rec := catalog.Record{
		UID: "u1", Ref: "component:default/c1", Kind: "Component", Namespace: "default", Name: "c1",
		Body: []byte(`{"kind":"Component","metadata":{"name":"c1"}}`), Hash: "h",
		Relations: []catalog.RelationRow{{Source: "component:default/c1", Type: "ownedBy", Target: "group:default/team"}},
	}
	if _, err := db.EntityUpsert(ctx, store.EntityUpsertParams{Records: []catalog.Record{rec}}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	for range n {
		if _, err := db.EntityGetByRef(ctx, rec.Ref); err != nil {
			t.Fatal(err)
		}
		if _, err := db.EntityGetByUID(ctx, rec.UID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.EntityGetByRef(ctx, "component:default/missing"); !fault.Is(err, fault.NotFound) {
			t.Fatalf("got %v, want NotFound", err)
		}
	}
	var generic, custom int64
	conns := db.lookups.AcquireAllIdle(ctx)
	for _, c := range conns {
		var g, cu int64
		err := c.QueryRow(ctx, "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)"+
			" FROM pg_prepared_statements WHERE statement LIKE '%FROM entities e WHERE e.%'").Scan(&g, &cu)
		c.Release()
		if err != nil {
			t.Fatal(err)
		}
		generic, custom = generic+g, custom+cu
	}
	if len(conns) == 0 || generic < 3*n || custom != 0 {
		t.Errorf("lookups on %d connections: %d generic plans, %d custom, want at least %d generic and no custom", len(conns), generic, custom, 3*n)
	}
	var mode string
	if err := db.pool.QueryRow(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "force_custom_plan" {
		t.Errorf("the main pool's plan_cache_mode is %s, want force_custom_plan", mode)
	}
}

// TestConnectionsWithinOneBound: the main pool and the lookups' pool
// together open at most backend.database.pool.max connections.
func TestConnectionsWithinOneBound(t *testing.T) {
	for _, c := range []struct {
		total       int32
		batch       int
		wantLookups int32
	}{
		{2, DefaultLookupBatch, 1},
		{4, DefaultLookupBatch, 1},
		{6, DefaultLookupBatch, 2},
		{10, DefaultLookupBatch, 3},
		{100, DefaultLookupBatch, 2 * lookupStatements},
		{100, 1, 33},
		{1, DefaultLookupBatch, 1},
	} {
		if got := lookupConns(c.total, c.batch); got != c.wantLookups {
			t.Errorf("lookupConns(%d, %d) = %d, want %d", c.total, c.batch, got, c.wantLookups)
		}
	}
	ctx := context.Background()
	for _, total := range []int32{0, 3, 12} {
		db, err := Open(ctx, Config{URL: testURL(t), MaxConns: total})
		if err != nil {
			t.Fatal(err)
		}
		want := total
		if want == 0 {
			want = DefaultMaxConns()
		}
		got := db.pool.Stat().MaxConns() + db.LookupPool().Stat().MaxConns()
		db.Close()
		if got != want {
			t.Errorf("pool.max %d: the two pools open up to %d connections, want %d", total, got, want)
		}
	}
}
