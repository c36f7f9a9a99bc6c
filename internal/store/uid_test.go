package store

import (
	"testing"

	"github.com/google/uuid"
)

func TestNewUIDIsAUUIDThatGrows(t *testing.T) {
	prev := ""
	for range 1000 {
		s := NewUID()
		id, err := uuid.Parse(s)
		if err != nil {
			t.Fatalf("NewUID() = %q: %v", s, err)
		}
		if got, want := id.Version(), uuid.Version(7); got != want {
			t.Fatalf("version of %s: got %v, want %v", s, got, want)
		}
		if s <= prev {
			t.Fatalf("NewUID() = %s after %s: got a smaller or equal uid, want a larger one", s, prev)
		}
		prev = s
	}
}
