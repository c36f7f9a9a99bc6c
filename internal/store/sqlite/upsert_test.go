package sqlite

import (
	"fmt"
	"testing"
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
