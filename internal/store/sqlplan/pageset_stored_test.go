package sqlplan

import (
	"testing"
	"time"
)

// TestStoredSetClaims checks who stores a memo entry's set: one page at a
// time, again after a minute when that page never finished, not for ten
// minutes after a failure, and again once the stored row is ten minutes
// old.
func TestStoredSetClaims(t *testing.T) {
	var st storedSet
	now := time.Now().UnixNano()
	if st.usable(now) {
		t.Fatal("a set never stored is usable")
	}
	if !st.storable(now) {
		t.Fatal("the first page may not store the set")
	}
	if st.storable(now + int64(time.Second)) {
		t.Fatal("a second page stores the set while the first is storing it")
	}
	if !st.storable(now + int64(2*time.Minute)) {
		t.Fatal("a page may not store the set after the first one never finished")
	}
	st.storedAt.Store(now + int64(2*time.Minute))
	if !st.usable(now + int64(3*time.Minute)) {
		t.Fatal("a stored set is not usable")
	}
	if st.usable(now + int64(13*time.Minute)) {
		t.Fatal("a set stored ten minutes ago is still trusted")
	}
	if !st.storable(now + int64(13*time.Minute)) {
		t.Fatal("a set stored ten minutes ago may not be stored again")
	}
	st.failedAt.Store(now + int64(14*time.Minute))
	if st.storable(now + int64(20*time.Minute)) {
		t.Fatal("a page stores the set within ten minutes of a failure")
	}
	if !st.storable(now + int64(25*time.Minute)) {
		t.Fatal("a page may not store the set ten minutes after a failure")
	}
	a, b := st.keyOf([]byte{1, 2, 3}), st.keyOf([]byte{1, 2, 3})
	if len(a) != 32 || string(a) != string(b) {
		t.Fatalf("key: %x, %x", a, b)
	}
}
