package sqlite

import (
	"fmt"
	"testing"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/storetest"
)

func TestBulkSortRowsOrdersByTheGivenColumns(t *testing.T) {
	b := bulk{cols: 3}
	b.add("o1", "b", 1)
	b.add("o2", "a", 2)
	b.add("o0", "b", 3)
	b.add("o3", "a", 4)
	b.sortRows(1, 0)
	got := fmt.Sprint(b.args)
	want := fmt.Sprint([]any{"o2", "a", 2, "o3", "a", 4, "o0", "b", 3, "o1", "b", 1})
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestEntityUpsertWrittenKeepsTheRecordsOrder(t *testing.T) {
	db := openTest(t)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var recs []catalog.Record
	var want []string
	for _, i := range []int{5, 2, 9, 1} {
		r := storetest.Synthetic(i, 10)
		recs = append(recs, r)
		want = append(want, r.Ref)
	}
	for round := range 2 { // new entities, then the same ones rewritten
		res, err := db.EntityUpsert(t.Context(), store.EntityUpsertParams{Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(res.Written); got != fmt.Sprint(want) {
			t.Errorf("round %d: got %v, want %v", round, got, want)
		}
	}
	for _, r := range recs {
		s, err := db.EntityGetByRef(t.Context(), r.Ref)
		if err != nil {
			t.Fatalf("%s: %v", r.Ref, err)
		}
		if s.UID != r.UID {
			t.Errorf("%s: got uid %s, want %s", r.Ref, s.UID, r.UID)
		}
	}
}
