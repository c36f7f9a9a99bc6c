package app

import (
	"sync"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// ChangeCard is the kind of the change events of plugin cards: what a
// card shows changed, not the entity.
const ChangeCard engine.ChangeKind = "card"

// cardEvents fans the changes plugins report of their cards out to the
// portal's live-update streams (ui.Params.CardEvents). Like the engine's
// events it never waits: a full subscriber misses events and gets the
// next one marked Overflow.
type cardEvents struct {
	mu   sync.Mutex
	subs map[*cardSub]struct{}
}

type cardSub struct {
	ch     chan engine.ChangeEvent
	missed bool
}

// Subscribe is ui.Params.CardEvents.
func (c *cardEvents) Subscribe(buffer int) (<-chan engine.ChangeEvent, func()) {
	s := &cardSub{ch: make(chan engine.ChangeEvent, max(buffer, 1))}
	c.mu.Lock()
	if c.subs == nil {
		c.subs = map[*cardSub]struct{}{}
	}
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.subs, s)
			c.mu.Unlock()
		})
	}
}

// Publish tells the streams that the cards of refs changed.
func (c *cardEvents) Publish(refs []string) {
	if len(refs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.subs {
		select {
		case s.ch <- engine.ChangeEvent{Kind: ChangeCard, Refs: refs, Overflow: s.missed}:
			s.missed = false
		default:
			s.missed = true
		}
	}
}

// liveCards is a built-in plugin whose cards change by themselves (the
// OpenShift Workloads card, served from watches).
type liveCards interface {
	NotifyCards(func(refs []string))
}

// cardsLive returns ui.Params.Cards: the plugins' cards, with the cost
// source wired to the catalog and the live cards to events. Plugins are
// wired when cards are listed, which comes before any card is shown.
func (a *App) cardsLive(events *cardEvents) func() []ui.PluginCard {
	return func() []ui.PluginCard {
		a.costs()
		a.pluginSet.mu.RLock()
		for _, lp := range a.pluginSet.list {
			if l, ok := lp.p.(liveCards); ok && lp.status.State == PluginRunning {
				l.NotifyCards(events.Publish)
			}
		}
		a.pluginSet.mu.RUnlock()
		return a.pluginCards()
	}
}
