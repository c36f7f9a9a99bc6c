package engine

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// A pass processes a set of entities and everything their Location entities
// emit, level by level, writing what changed in batches. Within a level,
// units are processed in parallel in chunks and collected in order, so the
// first of two entities with the same ref always wins.

// passKind says what a pass may change.
type passKind int

const (
	passFull    passKind = iota // a provider's full mutation: the root's edges are replaced
	passDelta                   // a provider's delta mutation: the root's edges are added
	passRefresh                 // one Location reprocessed: its own parent edges are untouched
	passDry                     // nothing is written
)

const (
	// docChunk and targetChunk are how many units are processed in
	// parallel before their results are collected in order: documents are
	// cheap, a target may be a file of hundreds of documents.
	docChunk    = 256
	targetChunk = 8
	// batchSize is how many records are written per store call.
	batchSize = 1000
)

type passSpec struct {
	kind  passKind
	root  string // the provider key of full and delta passes
	units []*unit
	// progress, when set, is told how many first-level units are done.
	progress func(done, total int)
}

// scope is what the entities of a Location subtree share.
type scope struct {
	ruleOrigin catalog.LocationRef // the location rules are checked against
	rules      *catalog.Rules      // nil: no rules (provider-level entities)
	origin     string              // managed-by-origin-location stamped on children
}

// unit is one thing to process: a document given by a provider or a
// refresh, or a target of a Location entity to read and parse.
type unit struct {
	doc      *catalog.Document
	target   catalog.LocationRef
	optional bool
	// descriptorsOnly skips documents that are not entities at all (no
	// apiVersion and no kind), such as API definitions found by a
	// directory walk.
	descriptorsOnly bool
	// parent is the edge parent of what the unit yields: a provider key or
	// a Location's ref; "" for the root of a refresh pass.
	parent  string
	emitter *locResult // the Location whose target this is; nil at provider level
	locKey  string     // the LocationKey of what the unit yields
	scope   *scope     // nil at provider level
	depth   int        // Location nesting depth
	// ancestors are the refs above this unit, to break cycles.
	ancestors []string

	noCache   bool        // read and process even when the file is unchanged
	fromCache *cacheEntry // what the file yielded last time, when reused
	retry     bool        // the reused results were stale; processed again
	counted   int         // documents counted against the emitter's limit
}

// outcome is what processing a unit produced.
type outcome struct {
	docs    []*docResult
	readErr *catalog.StatusItem // the target could not be read or parsed
	readPbs []Problem           // the same, with file and line when known
	cached  *cacheEntry         // the file is unchanged: its remembered results
	track   bool                // the file may be remembered, with sum
	sum     [sha256.Size]byte
}

// docResult is one processed document.
type docResult struct {
	u        *unit
	ref      string             // canonical; "" when the document names no entity
	hash     string             // of the processed entity and its keys (of the raw input when invalid)
	sum      *[sha256.Size]byte // cached: the remembered hash, raw (hash is "")
	entity   *catalog.Entity
	rec      *catalog.Record      // set when the entity is valid
	problems []catalog.StatusItem // the entity's own errors; any makes it invalid
	probs    catalog.Problems     // the same, with file, line and field
	loc      *locResult           // set for valid Location entities
	cached   bool                 // remembered from an unchanged file: ref and hash only
}

// locResult is the reading side of a valid Location entity.
type locResult struct {
	res      *docResult
	children []*unit
	problems []catalog.StatusItem // read errors, children's errors, conflicts
	// failed keeps the Location's previous children: a target could not be
	// read, or a limit was hit.
	failed bool
	count  int
	over   bool
}

func (l *locResult) fail(item catalog.StatusItem) {
	l.problems = append(l.problems, item)
	l.failed = true
}

// pass is the state of one pass.
type pass struct {
	e    *Engine
	spec passSpec

	seen      map[string]string   // ref → locKey of its first emission
	edges     map[string][]string // parent → children, in emission order
	rejected  map[string]bool     // refs refused by the store (conflicts)
	batch     []*docResult
	levelLocs []*docResult
	held      []*docResult // valid Locations, written last
	owned     []*docResult // Locations whose children this pass sets

	tracks   map[*unit]*unitTrack // files that may be remembered
	retries  []*unit              // files whose remembered results were stale
	inflight *pendingWrite
	total    int // entities in the catalog, counted at the first new one (growth.go); -1 before
	// dry-run output
	entities []*catalog.Entity
	problems []Problem
}

// runPass runs one pass. Passes that write are serialised.
func (e *Engine) runPass(ctx context.Context, spec passSpec) (*pass, error) {
	if spec.kind != passDry {
		e.mu.Lock()
		defer e.mu.Unlock()
		defer e.beginBulk(ctx)()
	}
	if spec.kind == passDry {
		// Remembered results hold no entities to show.
		for _, u := range spec.units {
			u.noCache = true
		}
	}
	p := &pass{
		e:        e,
		spec:     spec,
		seen:     map[string]string{},
		edges:    map[string][]string{},
		rejected: map[string]bool{},
		tracks:   map[*unit]*unitTrack{},
		total:    -1,
	}
	err := p.run(ctx)
	if werr := p.wait(); err == nil {
		err = werr
	}
	return p, err
}

func (p *pass) run(ctx context.Context) error {
	units := p.spec.units
	total := len(units)
	for depth := 0; len(units) > 0; depth++ {
		for start := 0; start < len(units); {
			if err := ctx.Err(); err != nil {
				return err
			}
			chunk := docChunk
			if units[start].doc == nil {
				chunk = max(targetChunk, 2*p.e.workers)
			}
			end := min(start+chunk, len(units))
			outs := p.e.processUnits(ctx, units[start:end])
			for i, out := range outs {
				if err := p.collect(ctx, units[start+i], out); err != nil {
					return err
				}
			}
			if depth == 0 && p.spec.progress != nil {
				p.spec.progress(end, total)
			}
			start = end
		}
		next, err := p.endLevel(ctx)
		if err != nil {
			return err
		}
		units = next
	}
	return p.finish(ctx)
}

// processUnits processes units on the engine's workers, results in order.
func (e *Engine) processUnits(ctx context.Context, units []*unit) []outcome {
	out := make([]outcome, len(units))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(e.workers, len(units)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(units) {
					return
				}
				out[i] = e.processUnit(ctx, units[i])
			}
		})
	}
	wg.Wait()
	return out
}

// processUnit reads and parses a target, or takes a given document, and
// processes every document.
func (e *Engine) processUnit(ctx context.Context, u *unit) outcome {
	if u.doc != nil {
		return outcome{docs: []*docResult{e.processDoc(ctx, u, *u.doc)}}
	}
	rd, ok := e.readers[u.target.Type]
	if !ok {
		msg := fmt.Sprintf("No processor was able to handle reading of %s", u.target)
		item := statusItem(string(fault.Invalid), msg)
		return outcome{readErr: &item, readPbs: []Problem{{Message: msg}}}
	}
	data, err := rd.Read(ctx, u.target.Target)
	if err != nil {
		if u.optional && fault.Is(err, fault.NotFound) {
			return outcome{}
		}
		item := errorItem(err)
		return outcome{readErr: &item, readPbs: targetProblems(u, err)}
	}
	var out outcome
	if !u.noCache && cacheable(data) {
		out.track, out.sum = true, sha256.Sum256(data)
		if ce := e.cache.get(cacheKey(u)); ce != nil && ce.sum == out.sum {
			e.counters.filesReused.Add(1)
			return outcome{cached: ce}
		}
	}
	e.counters.filesParsed.Add(1)
	docs, err := catalog.ParseDescriptors(u.target.Target, data, e.limits.Parse)
	if err != nil {
		item := errorItem(err)
		return outcome{readErr: &item, readPbs: targetProblems(u, err)}
	}
	out.docs = make([]*docResult, 0, len(docs))
	for _, d := range docs {
		if u.descriptorsOnly && !looksLikeEntity(d.Raw) {
			continue
		}
		out.docs = append(out.docs, e.processDoc(ctx, u, d))
	}
	return out
}

// targetProblems describes why a target could not be read or parsed.
func targetProblems(u *unit, err error) []Problem {
	ps := errorProblems(err)
	for i := range ps {
		if ps[i].File == "" && !strings.Contains(ps[i].Message, u.target.Target) {
			ps[i].File = u.target.Target
		}
	}
	return ps
}

// collect takes one unit's outcome, in order.
func (p *pass) collect(ctx context.Context, u *unit, out outcome) error {
	if out.readErr != nil {
		if u.emitter != nil {
			u.emitter.fail(*out.readErr)
		} else {
			p.e.log.Warn("catalog cannot read location", "location", u.target.String(), "err", out.readErr.Message)
			p.problems = append(p.problems, out.readPbs...)
		}
		return nil
	}
	if ce := out.cached; ce != nil {
		u.fromCache = ce
		for i, ref := range ce.refs {
			if err := p.collectDoc(ctx, &docResult{u: u, ref: ref, sum: &ce.hashes[i], cached: true}); err != nil {
				return err
			}
		}
		return nil
	}
	if out.track && p.spec.kind != passDry {
		n := len(out.docs)
		p.tracks[u] = &unitTrack{sum: out.sum, docs: n, refs: make([]string, 0, n), hashes: make([][sha256.Size]byte, 0, n)}
	}
	for _, r := range out.docs {
		if err := p.collectDoc(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// spoil stops u's file from being remembered this pass.
func (p *pass) spoil(u *unit) {
	if t := p.tracks[u]; t != nil {
		t.bad = true
	}
}

// tracked notes that r was written or found unchanged with hash.
func (p *pass) tracked(r *docResult, hash string) {
	t := p.tracks[r.u]
	if t == nil {
		return
	}
	sum, ok := hashSum(hash)
	if !ok {
		t.bad = true
		return
	}
	t.refs = append(t.refs, r.ref)
	t.hashes = append(t.hashes, sum)
}

// retryUnit drops the remembered results of u's file and queues the file to
// be processed again, because the store disagrees with them.
func (p *pass) retryUnit(u *unit) {
	if u.retry {
		return
	}
	u.retry = true
	p.e.cache.drop(cacheKey(u))
	if u.fromCache != nil {
		for _, ref := range u.fromCache.refs {
			if p.seen[ref] == u.locKey {
				delete(p.seen, ref)
			}
		}
	}
	if em := u.emitter; em != nil {
		em.count -= u.counted
	}
	nu := *u
	nu.noCache, nu.retry, nu.fromCache, nu.counted = true, false, nil, 0
	p.retries = append(p.retries, &nu)
}

// runRetries processes again the files whose remembered results were stale.
func (p *pass) runRetries(ctx context.Context) error {
	for len(p.retries) > 0 {
		units := p.retries
		p.retries = nil
		for start := 0; start < len(units); start += targetChunk {
			end := min(start+targetChunk, len(units))
			outs := p.e.processUnits(ctx, units[start:end])
			for i, out := range outs {
				if err := p.collect(ctx, units[start+i], out); err != nil {
					return err
				}
			}
		}
		if err := p.flushBatch(ctx); err != nil {
			return err
		}
		if err := p.wait(); err != nil {
			return err
		}
	}
	return nil
}

func (p *pass) collectDoc(ctx context.Context, r *docResult) error {
	u := r.u
	if r.cached && u.retry {
		return nil
	}
	if len(r.problems) > 0 || r.loc != nil || r.ref == "" {
		p.spoil(u)
	}
	if em := u.emitter; em != nil {
		if em.over {
			p.spoil(u)
			return nil
		}
		em.count++
		u.counted++
		if em.count > p.e.limits.MaxEntitiesPerLocation {
			em.over = true
			p.spoil(u)
			em.fail(statusItem(string(fault.TooLarge), fmt.Sprintf(
				"%s emits more than %d entities (the limit catalog max entities per location); the rest were not processed and its previous entities are kept",
				em.res.ref, p.e.limits.MaxEntitiesPerLocation)))
			return nil
		}
	}
	if r.ref != "" {
		if r.ref == u.parent || slices.Contains(u.ancestors, r.ref) {
			p.spoil(u)
			p.e.log.Debug("catalog location cycle ignored", "entity", r.ref, "parent", u.parent)
			return nil
		}
		if key, ok := p.seen[r.ref]; ok {
			p.spoil(u)
			if key == u.locKey {
				p.addEdge(u.parent, r.ref)
			} else {
				p.conflict(r, key)
			}
			return nil
		}
		p.seen[r.ref] = u.locKey
	}
	if r.loc != nil {
		p.levelLocs = append(p.levelLocs, r)
		return nil
	}
	p.batch = append(p.batch, r)
	if len(p.batch) >= batchSize {
		return p.flushBatch(ctx)
	}
	return nil
}

func (p *pass) flushBatch(ctx context.Context) error {
	b := p.batch
	p.batch = nil
	return p.flush(ctx, b)
}

func (p *pass) addEdge(parent, child string) {
	if parent == "" || parent == child {
		return
	}
	p.edges[parent] = append(p.edges[parent], child)
}

// conflict reports that r lost its ref to the location key existing.
func (p *pass) conflict(r *docResult, existing string) {
	p.spoil(r.u)
	msg := fmt.Sprintf("detected conflicting entityRef %s already referenced by %s and now also %s", r.ref, existing, r.u.locKey)
	p.e.log.Warn(msg)
	if em := r.u.emitter; em != nil {
		em.problems = append(em.problems, statusItem(string(fault.Conflict), msg))
	}
	p.problems = append(p.problems, Problem{Message: msg})
}

// refuse reports the errors of an entity that cannot carry them itself: it
// names no entity, or the entity does not exist yet. They go to the Location
// that emitted it.
func (p *pass) refuse(r *docResult) {
	p.spoil(r.u)
	if em := r.u.emitter; em != nil {
		em.problems = append(em.problems, r.problems...)
	} else if p.spec.kind != passDry {
		msgs := make([]string, len(r.problems))
		for i, it := range r.problems {
			msgs[i] = it.Message
		}
		p.e.log.Warn("catalog refused an entity", "parent", r.u.parent, "entity", r.ref, "errors", msgs)
	}
	p.problems = append(p.problems, r.probs...)
}

// endLevel writes the level's batch, checks its Location entities for
// conflicts and returns the units of their targets.
func (p *pass) endLevel(ctx context.Context) ([]*unit, error) {
	if err := p.flushBatch(ctx); err != nil {
		return nil, err
	}
	if err := p.wait(); err != nil {
		return nil, err
	}
	if err := p.runRetries(ctx); err != nil {
		return nil, err
	}
	locs := p.levelLocs
	p.levelLocs = nil
	if len(locs) == 0 {
		return nil, nil
	}
	states := map[string]storeState{}
	if p.spec.kind != passDry {
		refs := make([]string, len(locs))
		for i, r := range locs {
			refs[i] = r.ref
		}
		st, err := p.e.states(ctx, refs)
		if err != nil {
			return nil, err
		}
		states = st
	}
	var next []*unit
	for _, r := range locs {
		if st, ok := states[r.ref]; ok && st.LocationKey != "" && st.LocationKey != r.u.locKey {
			p.conflict(r, st.LocationKey)
			continue
		}
		p.held = append(p.held, r)
		p.owned = append(p.owned, r)
		next = append(next, r.loc.children...)
	}
	return next, nil
}

// finish writes the Location entities, sets edges and handles entities
// that lost their parents.
func (p *pass) finish(ctx context.Context) error {
	if err := p.flushBatch(ctx); err != nil {
		return err
	}
	if err := p.flush(ctx, p.held); err != nil {
		return err
	}
	if err := p.wait(); err != nil {
		return err
	}
	if p.spec.kind == passDry {
		return nil
	}
	for u, t := range p.tracks {
		if !t.bad && len(t.refs) == t.docs {
			p.e.cache.put(cacheKey(u), &cacheEntry{sum: t.sum, refs: t.refs, hashes: t.hashes})
		}
	}
	st := p.e.store
	var removed []string
	for _, r := range p.owned {
		if p.rejected[r.ref] {
			continue
		}
		kids := p.children(r.ref)
		if r.loc.failed {
			if err := st.EdgeAdd(ctx, r.ref, kids); err != nil {
				return err
			}
			continue
		}
		rm, err := st.EdgeReplace(ctx, r.ref, kids)
		if err != nil {
			return err
		}
		removed = append(removed, rm...)
	}
	var evicted []string
	switch p.spec.kind {
	case passFull:
		rm, err := st.EdgeReplace(ctx, p.spec.root, p.children(p.spec.root))
		if err != nil {
			return err
		}
		evicted = rm
	case passDelta:
		if err := st.EdgeAdd(ctx, p.spec.root, p.children(p.spec.root)); err != nil {
			return err
		}
	}
	if err := p.e.handleOrphans(ctx, removed); err != nil {
		return err
	}
	return p.e.deleteParentless(ctx, evicted)
}

// children returns the accepted children of parent, once each.
func (p *pass) children(parent string) []string {
	kids := p.edges[parent]
	out := make([]string, 0, len(kids))
	seen := make(map[string]bool, len(kids))
	for _, k := range kids {
		if !p.rejected[k] && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
