package ui

import (
	"context"
	"log/slog"
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

// seed adds refs written before this server started (newest first) after
// the ones it saw change itself, which are newer.
func (rc *recent) seed(refs []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	have := map[string]bool{}
	for _, r := range rc.refs {
		have[r] = true
	}
	for _, r := range refs {
		if len(rc.refs) >= rc.max {
			return
		}
		if !have[r] {
			have[r] = true
			rc.refs = append(rc.refs, r)
		}
	}
}

// follow records change events until ctx ends or the subscription closes;
// onChange runs after each event (the facet cache's invalidation). Once
// subscribed, it seeds the list from the store (so that what changed before
// a restart is still listed) when seed is set.
func (rc *recent) follow(ctx context.Context, subscribe func(int) (<-chan engine.ChangeEvent, func()), seed func(context.Context, int) ([]string, error), log *slog.Logger, onChange func()) {
	events, cancel := subscribe(256)
	defer cancel()
	if seed != nil {
		refs, err := seed(ctx, rc.max)
		if err != nil {
			log.Warn("reading the recently changed entities", "err", err)
		}
		rc.seed(refs)
	}
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
