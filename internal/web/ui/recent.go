package ui

import (
	"context"
	"sync"

	"github.com/atrium-portal/atrium/internal/engine"
)

// recent remembers the refs of the entities that changed most recently
// while this server ran, newest first, for the home page.
type recent struct {
	mu   sync.Mutex
	refs []string
	max  int
}

// add records refs as just changed; deleted entities are forgotten.
func (rc *recent) add(ev engine.ChangeEvent) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	drop := map[string]bool{}
	for _, r := range ev.Refs {
		drop[r] = true
	}
	kept := rc.refs[:0:0]
	if ev.Kind == engine.ChangeUpsert {
		n := min(len(ev.Refs), rc.max)
		for i := len(ev.Refs) - 1; i >= len(ev.Refs)-n; i-- {
			kept = append(kept, ev.Refs[i])
		}
	}
	for _, r := range rc.refs {
		if !drop[r] && len(kept) < rc.max {
			kept = append(kept, r)
		}
	}
	rc.refs = kept
}

// list returns the remembered refs, newest first.
func (rc *recent) list() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.refs...)
}

// follow records change events until ctx ends or the subscription closes;
// onChange runs after each event (the facet cache's invalidation).
func (rc *recent) follow(ctx context.Context, subscribe func(int) (<-chan engine.ChangeEvent, func()), onChange func()) {
	events, cancel := subscribe(256)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			rc.add(ev)
			onChange()
		}
	}
}
