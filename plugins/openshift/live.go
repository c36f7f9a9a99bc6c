package openshift

import (
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/plugin"
)

// cardNotifier hands the refs of entities whose Workloads card changed to
// whoever shows entity pages (Atrium's live updates).
type cardNotifier struct {
	mu     sync.Mutex
	notify func(refs []string)
}

// NotifyCards tells the plugin where to send the refs of entities whose
// Workloads card changed (internal/app wires its live page updates).
func (p *Plugin) NotifyCards(notify func(refs []string)) {
	p.cards.mu.Lock()
	defer p.cards.mu.Unlock()
	p.cards.notify = notify
}

func (n *cardNotifier) send(refs []string) {
	n.mu.Lock()
	f := n.notify
	n.mu.Unlock()
	if f != nil {
		f(refs)
	}
}

// liveConfig checks the live card's settings (read by live).
func (p *Plugin) liveConfig() error {
	if p.cfg.MaxWatches < 0 {
		return plugin.Errorf(plugin.ErrInvalid, "plugins.openshift.config.maxWatches: %d is negative", p.cfg.MaxWatches)
	}
	_, err := durationOr(p.cfg.WatchIdleAfter, "watchIdleAfter", 10*time.Minute)
	return err
}

// live is the informers of a cluster's Workloads card, or nil when
// liveWorkloads is false.
func (p *Plugin) live(c *kube.Client) *kube.Live {
	if p.cfg.LiveWorkloads != nil && !*p.cfg.LiveWorkloads {
		return nil
	}
	idle, err := durationOr(p.cfg.WatchIdleAfter, "watchIdleAfter", 10*time.Minute)
	if err != nil {
		return nil // liveConfig reports it
	}
	return c.Live(kube.LiveConfig{MaxScopes: p.cfg.MaxWatches, IdleAfter: idle, Notify: p.cards.send, Go: p.goFn})
}

// stopLive stops every cluster's informers.
func (p *Plugin) stopLive() {
	for _, c := range p.clusters {
		if c.live != nil {
			c.live.Close()
		}
	}
}
