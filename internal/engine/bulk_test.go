package engine

import (
	"context"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// bulkSpy counts the bulk loads the engine runs and what the catalog
// answered when each ended.
type bulkSpy struct {
	store.Driver
	begun, began, ended int
	inBulk              bool
	// e, when set, is asked at BulkEnd whether it reports a first load.
	e              *Engine
	firstLoadAtEnd bool
}

func (s *bulkSpy) BulkBegin(ctx context.Context) (bool, error) {
	s.begun++
	ok, err := s.Driver.BulkBegin(ctx)
	if ok {
		s.began++
		s.inBulk = true
	}
	return ok, err
}

func (s *bulkSpy) BulkEnd(ctx context.Context) error {
	if s.inBulk {
		s.ended++
		s.inBulk = false
		if s.e != nil {
			s.firstLoadAtEnd = s.e.Stats().FirstLoad
		}
	}
	return s.Driver.BulkEnd(ctx)
}

func TestFirstPassIsABulkLoad(t *testing.T) {
	dir := copyTree(t, "testdata/basic")
	spy := &bulkSpy{Driver: openStore(t)}
	e := newEngine(t, Config{Store: spy, BaseDir: dir, StaticLocations: []StaticLocation{{Type: "file", Target: "catalog-info.yaml"}}})
	spy.e = e
	refreshAll(t, e)
	if spy.began != 1 || spy.ended != 1 || spy.inBulk {
		t.Fatalf("bulk loads after the first pass: got %d begun, %d ended, want 1 and 1", spy.began, spy.ended)
	}
	if !spy.firstLoadAtEnd || e.Stats().FirstLoad {
		t.Errorf("Stats().FirstLoad: got %v at BulkEnd and %v after, want true and false", spy.firstLoadAtEnd, e.Stats().FirstLoad)
	}
	page, err := e.Entities(context.Background(), Query{Filter: catalog.All(catalog.In("kind", "component"), catalog.In("relations.ownedby", "group:default/team-billing"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) == 0 {
		t.Errorf("kind+owner after the bulk load: got no entities, want the team's components")
	}
	refreshAll(t, e)
	if spy.began != 1 {
		t.Errorf("bulk loads after a pass on a loaded catalog: got %d, want 1", spy.began)
	}
	if spy.begun < 2 {
		t.Errorf("BulkBegin calls: got %d, want at least 2 (one per writing pass)", spy.begun)
	}
}
