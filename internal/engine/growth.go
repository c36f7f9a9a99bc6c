package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/atrium-portal/atrium/internal/catalog"

	"github.com/atrium-portal/atrium/internal/fault"
)

// admit counts r, an entity the catalog does not hold yet, against the
// global limit (Limits.MaxEntities) and reports whether it may be written.
// Passes that write are serialised, so the count taken at the pass's first
// new entity plus what the pass admitted since is the catalog's size; other
// replicas writing at the same time may take it a little past the limit.
// A refused entity fails its Location, which keeps its previous entities
// and says why in its status; Location entities themselves are admitted
// past the limit to carry that status.
func (p *pass) admit(ctx context.Context, r *docResult) (bool, error) {
	max := p.e.limits.MaxEntities
	if max <= 0 {
		return true, nil
	}
	if p.total < 0 {
		counts, err := p.e.store.EntityCount(ctx)
		if err != nil {
			return false, err
		}
		p.total = 0
		for _, n := range counts {
			p.total += n
		}
	}
	// A Location entity is always written, so that it can carry the
	// error of the entities it emitted beyond the limit.
	if p.total < max || r.loc != nil {
		p.total++
		return true, nil
	}
	p.spoil(r.u)
	msg := fmt.Sprintf("new entities were not added: the catalog holds %d entities, its limit (atrium.limits.maxEntities); "+
		"remove entities or raise the limit", max)
	if em := r.u.emitter; em != nil {
		if !slices.ContainsFunc(em.problems, func(it catalog.StatusItem) bool { return it.Message == msg }) {
			em.fail(statusItem(string(fault.TooLarge), msg))
			p.e.log.Warn("catalog entity limit reached", "location", em.res.ref, "limit", max)
		}
	} else if !slices.ContainsFunc(p.problems, func(pb Problem) bool { return pb.Message == msg }) {
		p.problems = append(p.problems, Problem{Message: msg})
		p.e.log.Warn("catalog entity limit reached", "entity", r.ref, "limit", max)
	}
	return false, nil
}
