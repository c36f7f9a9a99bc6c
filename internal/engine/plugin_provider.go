package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/plugin"
)

// PluginProvider runs a plugin's entity provider as a catalog provider.
// Its bucket is named "plugin:<plugin id>:<provider name>", and its
// entities are owned by that key (or by "<bucket>:<key>" for an entity
// the mutation gives a location key of its own): no location can
// overwrite them. When Run returns an error (or the plugin crashes, or a
// built-in's Run panics) the
// provider is run again after a backoff that doubles from MinBackoff to
// MaxBackoff; a run that lasted longer than MaxBackoff resets it.
//
// The engine's own location providers (LocationProvider) come through
// this adapter too. They keep the buckets "config" and "database", their
// location keys are the locations' own, and they are refreshed by the
// engine rather than run: Connect emits their entities once.
type PluginProvider struct {
	PluginID   string
	Provider   plugin.EntityProvider
	Logger     *slog.Logger
	MinBackoff time.Duration // default 1s
	MaxBackoff time.Duration // default 1m
}

var _ Provider = (*PluginProvider)(nil)

// Name is the provider's bucket.
func (p *PluginProvider) Name() string {
	if lp := p.own(); lp != nil {
		return lp.Name()
	}
	return "plugin:" + p.PluginID + ":" + p.Provider.Name()
}

// own returns the engine's location provider that p adapts, or nil.
func (p *PluginProvider) own() *LocationProvider {
	lp, _ := p.Provider.(*LocationProvider)
	return lp
}

// Connect runs the plugin's provider until ctx is done.
func (p *PluginProvider) Connect(ctx context.Context, conn Connection) error {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	minB, maxB := p.MinBackoff, p.MaxBackoff
	if minB <= 0 {
		minB = time.Second
	}
	if maxB < minB {
		maxB = max(minB, time.Minute)
	}
	backoff := minB
	emit := func(ctx context.Context, m plugin.Mutation) error {
		em, err := p.mutation(m)
		if err != nil {
			return err
		}
		return conn.ApplyMutation(ctx, em)
	}
	if lp := p.own(); lp != nil {
		// The engine schedules its own providers (Ready, RefreshAll).
		return lp.Refresh(ctx, emit)
	}
	for {
		started := time.Now()
		// A built-in's provider runs here, on the engine's goroutine: a
		// panic in it is an error like any other (with the stack in the
		// log), and the provider is run again after the backoff.
		err := guard.Call(log, p.PluginID, "entity provider "+p.Provider.Name()+": Run", func() error {
			return p.Provider.Run(ctx, emit)
		})
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > maxB {
			backoff = minB
		}
		if err != nil {
			log.Error("plugin entity provider stopped; running it again later", "provider", p.Name(), "err", err, "retryIn", backoff)
		} else {
			log.Warn("plugin entity provider returned before it was stopped; running it again later", "provider", p.Name(), "retryIn", backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxB)
	}
}

// mutation converts a plugin's mutation to the engine's.
func (p *PluginProvider) mutation(m plugin.Mutation) (Mutation, error) {
	key := p.Name()
	var out Mutation
	switch m.Type {
	case plugin.MutationFull:
		out.Type = MutationFull
		if len(m.Removed) > 0 {
			return Mutation{}, plugin.Errorf(plugin.ErrInvalid, "a full mutation cannot remove entities (removed: %v); leave them out instead", m.Removed)
		}
	case plugin.MutationDelta:
		out.Type = MutationDelta
	default:
		return Mutation{}, plugin.Errorf(plugin.ErrInvalid, "mutation type %q is not %q or %q", m.Type, plugin.MutationFull, plugin.MutationDelta)
	}
	if len(m.LocationKeys) > 0 && len(m.LocationKeys) != len(m.Entities) {
		return Mutation{}, plugin.Errorf(plugin.ErrInvalid, "locationKeys has %d entries for %d entities; give one per entity (empty for the provider's own)", len(m.LocationKeys), len(m.Entities))
	}
	own := p.own() != nil
	for i, e := range m.Entities {
		if len(e) == 0 {
			return Mutation{}, plugin.Errorf(plugin.ErrInvalid, "entities[%d] is empty", i)
		}
		d := Deferred{Entity: e, LocationKey: key}
		if i < len(m.LocationKeys) && m.LocationKeys[i] != "" {
			d.LocationKey = key + ":" + m.LocationKeys[i]
			if own {
				// The catalog's own locations: the key is the
				// location's, and problems name it as their file.
				d.LocationKey = m.LocationKeys[i]
				doc, err := catalog.DocumentFromJSON(d.LocationKey, e)
				if err != nil {
					return Mutation{}, err
				}
				d.Document = doc
			}
		}
		out.Entities = append(out.Entities, d)
	}
	for _, ref := range m.Removed {
		out.Removed = append(out.Removed, Deferred{Ref: ref, LocationKey: key})
	}
	return out, nil
}

// String is for logs.
func (p *PluginProvider) String() string { return fmt.Sprintf("plugin provider %s", p.Name()) }
