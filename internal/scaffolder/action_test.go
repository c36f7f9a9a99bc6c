package scaffolder_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
)

// namedAction is an action that only has an id and an input schema.
type namedAction struct{ id string }

func (a namedAction) ID() string { return a.id }
func (a namedAction) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`), nil
}
func (a namedAction) Run(context.Context, scaffolder.ActionContext) error { return nil }

func TestRegistryAddRemove(t *testing.T) {
	reg, err := scaffolder.NewRegistry(namedAction{"a:one"})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(namedAction{"a:two"}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(namedAction{"a:one"}); !fault.Is(err, fault.Conflict) {
		t.Fatalf("adding a:one twice: got %v, want a conflict", err)
	}
	if got, want := reg.IDs(), []string{"a:one", "a:two"}; !slices.Equal(got, want) {
		t.Fatalf("ids: got %v, want %v", got, want)
	}
	if !reg.Remove("a:one") {
		t.Fatal("Remove(a:one) = false, want true")
	}
	if reg.Remove("a:one") {
		t.Fatal("second Remove(a:one) = true, want false")
	}
	if _, ok := reg.Get("a:one"); ok {
		t.Fatal("a:one is still there after Remove")
	}
	if got := len(reg.List()); got != 1 {
		t.Fatalf("list: got %d actions, want 1", got)
	}
	// Removed, an id may be added again (a reinstalled plugin).
	if err := reg.Add(namedAction{"a:one"}); err != nil {
		t.Fatalf("adding a:one again: %v", err)
	}
}

// TestRegistryConcurrent adds, removes and looks up actions from many
// goroutines; run with -race.
func TestRegistryConcurrent(t *testing.T) {
	reg, err := scaffolder.NewRegistry(namedAction{"fixed"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprintf("w%d:%d", w, i%5)
				_ = reg.Add(namedAction{id})
				reg.Remove(id)
			}
		})
		wg.Go(func() {
			for range 200 {
				if _, ok := reg.Get("fixed"); !ok {
					t.Error("fixed action missing")
					return
				}
				_ = reg.List()
				_ = reg.IDs()
			}
		})
	}
	wg.Wait()
	if got, want := reg.IDs(), []string{"fixed"}; !slices.Equal(got, want) {
		t.Fatalf("ids after the churn: got %v, want %v", got, want)
	}
}
