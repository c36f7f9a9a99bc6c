package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// maxLineage bounds how far up a refresh looks for a Location.
const maxLineage = 64

// Refresh reprocesses now the entity's nearest Location ancestor (the
// entity itself when it is a Location), so its source is read again
// (§2.10). An entity no Location emitted waits for its provider.
func (e *Engine) Refresh(ctx context.Context, ref string) error {
	r, err := parseEntityRef(ref)
	if err != nil {
		return err
	}
	if _, err := e.store.EntityGetByRef(ctx, r.String()); err != nil {
		if fault.Is(err, fault.NotFound) {
			return notFoundRef(r)
		}
		return err
	}
	chain, err := e.lineage(ctx, r.String())
	if err != nil {
		return err
	}
	for i, c := range chain {
		if strings.HasPrefix(c, "location:") {
			return e.refreshLocation(ctx, chain[i:])
		}
	}
	return nil
}

// lineage returns ref and its first emitters up to one that a provider
// emitted (or that has no parent).
func (e *Engine) lineage(ctx context.Context, ref string) ([]string, error) {
	chain := []string{ref}
	for len(chain) < maxLineage {
		cur := chain[len(chain)-1]
		parents, err := e.store.EdgeParents(ctx, []string{cur})
		if err != nil {
			return nil, err
		}
		next := ""
		for _, p := range parents[cur] {
			if !strings.HasPrefix(p, "provider:") && !slices.Contains(chain, p) {
				next = p
				break
			}
		}
		if next == "" {
			break
		}
		chain = append(chain, next)
	}
	return chain, nil
}

// refreshLocation reprocesses chain[0], a Location entity, from its stored
// body; chain runs up to the provider-level Location whose scope applies.
func (e *Engine) refreshLocation(ctx context.Context, chain []string) error {
	ref := chain[0]
	s, err := e.store.EntityGetByRef(ctx, ref)
	if err != nil {
		return err
	}
	states, err := e.states(ctx, []string{ref})
	if err != nil {
		return err
	}
	st, ok := states[ref]
	if !ok {
		return fault.New(fault.NotFound, "entity %s vanished during refresh", ref)
	}
	doc, err := catalog.DocumentFromJSON(ref, s.Body)
	if err != nil {
		return fmt.Errorf("stored entity %s: %w", ref, err)
	}
	if md, ok := doc.Raw["metadata"].(map[string]any); ok {
		delete(md, "uid")
		delete(md, "etag")
	}
	var sc *scope
	if len(chain) > 1 {
		top, err := e.store.EntityGetByRef(ctx, chain[len(chain)-1])
		if err != nil {
			return err
		}
		var ent catalog.Entity
		if err := json.Unmarshal(top.Body, &ent); err != nil {
			return fmt.Errorf("stored entity %s: %w", top.Ref, err)
		}
		sc = e.rootScope(&ent)
	}
	ancestors := slices.Clone(chain[1:])
	slices.Reverse(ancestors)
	u := &unit{doc: &doc, locKey: st.LocationKey, scope: sc, depth: len(chain) - 1, ancestors: ancestors}
	_, err = e.runPass(ctx, passSpec{kind: passRefresh, units: []*unit{u}})
	return err
}

// refreshKeys reprocesses what keys name: entity refs, or location refs
// ("url:https://…"), which refresh the Location entities targeting them and
// the entities read from them.
func (e *Engine) refreshKeys(ctx context.Context, keys []string) error {
	for _, k := range keys {
		if loc, err := catalog.ParseLocationRef(k); err == nil {
			if _, known := e.readers[loc.Type]; known {
				if err := e.refreshLocationKey(ctx, loc); err != nil {
					return err
				}
				continue
			}
		}
		if err := e.Refresh(ctx, k); err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
	}
	return nil
}

func (e *Engine) refreshLocationKey(ctx context.Context, loc catalog.LocationRef) error {
	target := strings.ToLower(loc.Target)
	f := catalog.Any(
		catalog.All(catalog.In("kind", "location"), catalog.In("spec.target", target)),
		catalog.In("metadata.annotations."+catalog.AnnotationManagedByLocation, strings.ToLower(loc.String())),
	)
	res, err := e.store.EntityList(ctx, store.EntityListParams{Filter: f, Limit: 100})
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, s := range res.Items {
		chain, err := e.lineage(ctx, s.Ref)
		if err != nil {
			return err
		}
		for i, c := range chain {
			if strings.HasPrefix(c, "location:") {
				if !done[c] {
					done[c] = true
					if err := e.refreshLocation(ctx, chain[i:]); err != nil {
						return err
					}
				}
				break
			}
		}
	}
	return nil
}
