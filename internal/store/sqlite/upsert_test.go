package sqlite

import (
	"slices"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

func TestCompareRelationRowsOrdersByTheTableKey(t *testing.T) {
	row := func(origin, source, typ, target string) relationRow {
		return relationRow{origin: origin, RelationRow: sqlplan.RelationRow{Source: source, Type: typ, TypeLower: strings.ToLower(typ), Target: target}}
	}
	rows := []relationRow{
		row("o1", "b", "ownedBy", "t1"),
		row("o2", "a", "ownedBy", "t2"),
		row("o0", "b", "dependsOn", "t9"),
		row("o3", "a", "ownedBy", "t1"),
		row("o1", "a", "ownedBy", "t1"),
		row("o1", "a", "OwnedBy", "t1"),
	}
	slices.SortFunc(rows, compareRelationRows)
	var got []string
	for _, r := range rows {
		got = append(got, r.Source+" "+r.Type+" "+r.Target+" "+r.origin)
	}
	want := []string{"a OwnedBy t1 o1", "a ownedBy t1 o1", "a ownedBy t1 o3", "a ownedBy t2 o2", "b dependsOn t9 o0", "b ownedBy t1 o1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
