package pluginhost

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/plugin"
)

// indexedComponents are one process's components by id or name.
type indexedComponents struct {
	actions     map[string]plugin.Action
	providers   map[string]plugin.EntityProvider
	processors  map[string]plugin.Processor
	cards       map[string]plugin.EntityCard
	subscribers map[string]plugin.EventSubscriber
	services    map[string]plugin.Service
}

func indexComponents(c plugin.Components) indexedComponents {
	x := indexedComponents{
		actions: map[string]plugin.Action{}, providers: map[string]plugin.EntityProvider{},
		processors: map[string]plugin.Processor{}, cards: map[string]plugin.EntityCard{},
		subscribers: map[string]plugin.EventSubscriber{}, services: map[string]plugin.Service{},
	}
	for _, a := range c.Actions {
		x.actions[a.ID()] = a
	}
	for _, p := range c.Providers {
		x.providers[p.Name()] = p
	}
	for _, p := range c.Processors {
		x.processors[p.Name()] = p
	}
	for _, cd := range c.Cards {
		x.cards[cd.ID()] = cd
	}
	for _, sb := range c.Subscribers {
		x.subscribers[sb.Name()] = sb
	}
	for _, sv := range c.Services {
		x.services[sv.Name()] = sv
	}
	return x
}

// componentMeta is what the wrappers answer without calling the plugin:
// the descriptive parts of the components, kept from the last start.
type componentMeta struct {
	actions     map[string]actionMeta
	cards       map[string]cardMeta
	providers   []string
	processors  []string
	subscribers []string
	services    []string
}

type actionMeta struct {
	description string
	in, out     json.RawMessage
}

type cardMeta struct{ title, selector string }

func (x indexedComponents) meta() componentMeta {
	m := componentMeta{actions: map[string]actionMeta{}, cards: map[string]cardMeta{}}
	for id, a := range x.actions {
		in, out := a.Schema()
		m.actions[id] = actionMeta{description: a.Description(), in: in, out: out}
	}
	for id, c := range x.cards {
		m.cards[id] = cardMeta{title: c.Title(), selector: c.Selector()}
	}
	m.providers = sortedKeys(x.providers)
	m.processors = sortedKeys(x.processors)
	m.subscribers = sortedKeys(x.subscribers)
	m.services = sortedKeys(x.services)
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Components returns the plugin's components as wrappers that go through
// the supervisor: they outlive restarts and version swaps, are counted,
// time out, and answer fault.Unavailable while the plugin is down. The set
// is that of the running (or last running) version.
func (s *Supervisor) Components() plugin.Components {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c plugin.Components
	for _, id := range sortedKeys(s.meta.actions) {
		c.Actions = append(c.Actions, wrapper(s, "action:"+id, func() *actionWrapper { return &actionWrapper{s: s, id: id} }))
	}
	for _, id := range sortedKeys(s.meta.cards) {
		c.Cards = append(c.Cards, wrapper(s, "card:"+id, func() *cardWrapper { return &cardWrapper{s: s, id: id} }))
	}
	for _, n := range s.meta.providers {
		c.Providers = append(c.Providers, wrapper(s, "provider:"+n, func() *providerWrapper { return &providerWrapper{s: s, name: n} }))
	}
	for _, n := range s.meta.processors {
		c.Processors = append(c.Processors, wrapper(s, "processor:"+n, func() *processorWrapper { return &processorWrapper{s: s, name: n} }))
	}
	for _, n := range s.meta.subscribers {
		c.Subscribers = append(c.Subscribers, wrapper(s, "subscriber:"+n, func() *subscriberWrapper { return &subscriberWrapper{s: s, name: n} }))
	}
	for _, n := range s.meta.services {
		c.Services = append(c.Services, wrapper(s, "service:"+n, func() *serviceWrapper { return &serviceWrapper{s: s, name: n} }))
	}
	return c
}

// wrapper returns the cached wrapper for key, creating it once; s.mu is held.
func wrapper[W any](s *Supervisor, key string, make func() W) W {
	if w, ok := s.wrappers[key].(W); ok {
		return w
	}
	w := make()
	s.wrappers[key] = w
	return w
}

func gone(s *Supervisor, kind, id string, version string) error {
	return fault.New(fault.NotFound, "plugin %s %s no longer provides %s %s", s.id, version, kind, id)
}

type actionWrapper struct {
	s  *Supervisor
	id string
}

var _ plugin.Action = (*actionWrapper)(nil)

func (w *actionWrapper) ID() string { return w.id }

func (w *actionWrapper) Description() string {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.meta.actions[w.id].description
}

func (w *actionWrapper) Schema() (json.RawMessage, json.RawMessage) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	m := w.s.meta.actions[w.id]
	return m.in, m.out
}

// Run is not bounded by the call timeout: a scaffolder step has its own.
func (w *actionWrapper) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	return w.s.call(ctx, "action "+w.id, false, false, func(ctx context.Context, g *generation) error {
		a, ok := g.comps.actions[w.id]
		if !ok {
			return gone(w.s, "action", w.id, g.version)
		}
		return a.Run(ctx, req, rep)
	})
}

type cardWrapper struct {
	s  *Supervisor
	id string
}

var _ plugin.EntityCard = (*cardWrapper)(nil)

func (w *cardWrapper) ID() string { return w.id }

func (w *cardWrapper) Title() string {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.meta.cards[w.id].title
}

func (w *cardWrapper) Selector() string {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.meta.cards[w.id].selector
}

func (w *cardWrapper) Render(ctx context.Context, entity json.RawMessage) (plugin.View, error) {
	var v plugin.View
	err := w.s.call(ctx, "entity card "+w.id, true, false, func(ctx context.Context, g *generation) error {
		c, ok := g.comps.cards[w.id]
		if !ok {
			return gone(w.s, "entity card", w.id, g.version)
		}
		var err error
		v, err = c.Render(ctx, entity)
		return err
	})
	return v, err
}

type providerWrapper struct {
	s    *Supervisor
	name string
}

var _ plugin.EntityProvider = (*providerWrapper)(nil)

func (w *providerWrapper) Name() string { return w.name }

// Run follows the plugin across version swaps: when the process it runs
// on is replaced, it continues on the new one. It returns when ctx ends,
// the provider fails, or the plugin is down.
func (w *providerWrapper) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	for {
		var replaced bool
		err := w.s.call(ctx, "entity provider "+w.name, false, true, func(cctx context.Context, g *generation) error {
			p, ok := g.comps.providers[w.name]
			if !ok {
				return gone(w.s, "entity provider", w.name, g.version)
			}
			err := p.Run(cctx, emit)
			replaced = g.runCtx.Err() != nil && ctx.Err() == nil
			return err
		})
		if !replaced {
			return err
		}
	}
}

type serviceWrapper struct {
	s    *Supervisor
	name string
}

var _ plugin.Service = (*serviceWrapper)(nil)

func (w *serviceWrapper) Name() string { return w.name }

// Run follows the plugin across version swaps, like providerWrapper.Run.
func (w *serviceWrapper) Run(ctx context.Context) error {
	for {
		var replaced bool
		err := w.s.call(ctx, "service "+w.name, false, true, func(cctx context.Context, g *generation) error {
			sv, ok := g.comps.services[w.name]
			if !ok {
				return gone(w.s, "service", w.name, g.version)
			}
			err := sv.Run(cctx)
			replaced = g.runCtx.Err() != nil && ctx.Err() == nil
			return err
		})
		if !replaced {
			return err
		}
	}
}

type processorWrapper struct {
	s    *Supervisor
	name string
}

var _ plugin.Processor = (*processorWrapper)(nil)

func (w *processorWrapper) Name() string { return w.name }

func (w *processorWrapper) Process(ctx context.Context, entity json.RawMessage) (plugin.ProcessResult, error) {
	var res plugin.ProcessResult
	err := w.s.call(ctx, "processor "+w.name, true, false, func(ctx context.Context, g *generation) error {
		p, ok := g.comps.processors[w.name]
		if !ok {
			return gone(w.s, "processor", w.name, g.version)
		}
		var err error
		res, err = p.Process(ctx, entity)
		return err
	})
	return res, err
}

type subscriberWrapper struct {
	s    *Supervisor
	name string
}

var _ plugin.EventSubscriber = (*subscriberWrapper)(nil)

func (w *subscriberWrapper) Name() string { return w.name }

func (w *subscriberWrapper) Verify(ctx context.Context, ev plugin.Event) error {
	return w.s.call(ctx, "event subscriber "+w.name, true, false, func(ctx context.Context, g *generation) error {
		sb, ok := g.comps.subscribers[w.name]
		if !ok {
			return gone(w.s, "event subscriber", w.name, g.version)
		}
		return sb.Verify(ctx, ev)
	})
}

func (w *subscriberWrapper) Handle(ctx context.Context, ev plugin.Event) error {
	return w.s.call(ctx, "event subscriber "+w.name, true, false, func(ctx context.Context, g *generation) error {
		sb, ok := g.comps.subscribers[w.name]
		if !ok {
			return gone(w.s, "event subscriber", w.name, g.version)
		}
		return sb.Handle(ctx, ev)
	})
}
