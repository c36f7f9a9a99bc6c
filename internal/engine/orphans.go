package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store"
)

// handleOrphans applies the orphan strategy to refs that a Location stopped
// emitting and that no other parent emits.
func (e *Engine) handleOrphans(ctx context.Context, removed []string) error {
	orphans, err := e.parentless(ctx, removed)
	if err != nil || len(orphans) == 0 {
		return err
	}
	if e.orphans == OrphanDelete {
		return e.deleteTree(ctx, orphans)
	}
	return e.markOrphans(ctx, orphans)
}

// deleteParentless deletes those refs that have no parent left, with their
// descendants that have no other parent.
func (e *Engine) deleteParentless(ctx context.Context, refs []string) error {
	orphans, err := e.parentless(ctx, refs)
	if err != nil || len(orphans) == 0 {
		return err
	}
	return e.deleteTree(ctx, orphans)
}

// parentless returns the refs without any parent.
func (e *Engine) parentless(ctx context.Context, refs []string) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	var out []string
	for start := 0; start < len(refs); start += statesChunk {
		chunk := refs[start:min(start+statesChunk, len(refs))]
		parents, err := e.store.EdgeParents(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, r := range chunk {
			if len(parents[r]) == 0 {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// deleteTree deletes roots and every descendant all of whose parents are
// being deleted.
func (e *Engine) deleteTree(ctx context.Context, roots []string) error {
	doomed := make(map[string]bool, len(roots))
	order := append([]string(nil), roots...)
	for _, r := range roots {
		doomed[r] = true
	}
	frontier := roots
	for len(frontier) > 0 {
		var candidates []string
		for _, p := range frontier {
			kids, err := e.store.EdgeChildren(ctx, p)
			if err != nil {
				return err
			}
			for _, k := range kids {
				if !doomed[k] {
					candidates = append(candidates, k)
				}
			}
		}
		frontier = nil
		if len(candidates) == 0 {
			break
		}
		parents, err := e.store.EdgeParents(ctx, candidates)
		if err != nil {
			return err
		}
		for _, c := range candidates {
			if doomed[c] {
				continue
			}
			all := true
			for _, p := range parents[c] {
				if !doomed[p] {
					all = false
					break
				}
			}
			if all {
				doomed[c] = true
				order = append(order, c)
				frontier = append(frontier, c)
			}
		}
	}
	for start := 0; start < len(order); start += batchSize {
		chunk := order[start:min(start+batchSize, len(order))]
		if err := e.store.EntityDelete(ctx, chunk); err != nil {
			return err
		}
		e.subs.publish(ChangeDelete, chunk)
	}
	return nil
}

// markOrphans rewrites entities with the backstage.io/orphan annotation. The
// stored hash changes too, so re-adoption rewrites them without it.
func (e *Engine) markOrphans(ctx context.Context, refs []string) error {
	states, err := e.states(ctx, refs)
	if err != nil {
		return err
	}
	var recs []catalog.Record
	for _, ref := range refs {
		st, ok := states[ref]
		if !ok {
			continue
		}
		s, err := e.store.EntityGetByRef(ctx, ref)
		if err != nil {
			return err
		}
		var ent catalog.Entity
		if err := json.Unmarshal(s.Body, &ent); err != nil {
			return fmt.Errorf("stored entity %s: %w", ref, err)
		}
		if ent.Metadata.Annotations[catalog.AnnotationOrphan] == "true" {
			continue
		}
		if ent.Metadata.Annotations == nil {
			ent.Metadata.Annotations = map[string]string{}
		}
		ent.Metadata.Annotations[catalog.AnnotationOrphan] = "true"
		rows, _ := catalog.Relations(&ent)
		rec, err := e.record(&ent, rows, st.LocationKey, st.UID)
		if err != nil {
			return err
		}
		rec.Hash = "orphan:" + st.Hash
		rec.Errors = s.Errors
		recs = append(recs, *rec)
	}
	for start := 0; start < len(recs); start += batchSize {
		res, err := e.store.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs[start:min(start+batchSize, len(recs))]})
		if err != nil {
			return err
		}
		e.subs.publish(ChangeUpsert, res.Written)
	}
	return nil
}
