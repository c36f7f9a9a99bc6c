package engine

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// RawFacets is implemented by catalogs that can serve facet counts as the
// API's encoded answer (the engine, from its answer cache, and the
// authorizing decorator over it). The web API uses it when present.
type RawFacets interface {
	// FacetsRaw is Facets encoded as {"facets":{name:[{value,count}…]}}
	// (no trailing newline). The bytes may be shared with the cache: they
	// must not be modified.
	FacetsRaw(ctx context.Context, facets []string, filter *catalog.Filter) ([]byte, error)
}

var _ RawFacets = (*Engine)(nil)

// FacetsRaw returns the encoded facet counts, from the answer cache when
// they were encoded in the current generation less than the cache's
// maximum age ago: a catalog page asks for the same facets on every view,
// and a facet such as relations.ownedBy lists thousands of owners, which
// would otherwise be copied and encoded for every request. The key is the
// filter the store is asked with, which holds the caller's read
// conditions, so an answer is only served within the same scope.
func (e *Engine) FacetsRaw(ctx context.Context, facets []string, filter *catalog.Filter) ([]byte, error) {
	if len(facets) == 0 {
		return nil, fault.New(fault.Invalid, "Missing facet parameter")
	}
	read := func(ctx context.Context) (any, int64, error) {
		res, err := e.store.EntityFacets(ctx, store.EntityFacetsParams{Facets: facets, Filter: filter})
		if err != nil {
			return nil, 0, err
		}
		b, err := EncodeFacets(facets, res)
		return b, int64(cap(b)), err
	}
	kb, err := json.Marshal(store.EntityFacetsParams{Facets: facets, Filter: filter})
	if err != nil {
		v, _, err := read(ctx)
		return asBytes(v), err
	}
	v, _, err := e.cs.answers.do(ctx, "facetsjson\x00"+string(kb), e.cs.gen.Load(), read)
	return asBytes(v), err
}

func asBytes(v any) []byte {
	b, _ := v.([]byte)
	return b
}

// EncodeFacets encodes the counts of the named facets as the API's answer:
// {"facets":{name:[…]}}, every named facet present (an empty list when it
// has no values), without a trailing newline.
func EncodeFacets(names []string, res map[string][]store.FacetCount) ([]byte, error) {
	out := make(map[string][]store.FacetCount, len(names))
	for _, n := range names {
		out[n] = res[n]
		if out[n] == nil {
			out[n] = []store.FacetCount{}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Facets map[string][]store.FacetCount `json:"facets"`
	}{out}); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "encoding facets")
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// EntitiesRaw returns one page of entities as their final JSON (each
// projected to q.Fields when set), from the answer cache when the same
// page was read in the current generation less than the cache's maximum
// age ago: a catalog page's burst asks for the same totals and first pages
// on every view. The key is the whole query with the filter the store is
// asked with, which holds the caller's read conditions, so a page is only
// served within the same scope. Only first pages are cached: they are the
// ones asked again and again, and the pages after them (a client walking
// or exporting the catalog) would push them out.
//
// The entity cache's validity is ensured first (see entitiesRaw): a check
// that finds a change starts a new generation, and the page must be read
// and cached under that one, not the one before it.
func (e *Engine) EntitiesRaw(ctx context.Context, q Query) (*RawPage, error) {
	keys := e.ents.enabled() && e.valid.ensure(ctx)
	read := func(ctx context.Context) (any, int64, error) {
		page, err := e.readPage(ctx, q, keys)
		if err != nil {
			return nil, 0, err
		}
		return page, pageSize(page), nil
	}
	if q.After != nil || q.Before != nil || q.Offset > 0 {
		return e.readPage(ctx, q, keys)
	}
	p := listParams(q)
	p.CountOnly = q.CountOnly
	kb, err := json.Marshal(struct {
		P store.EntityListParams
		F []string
	}{p, q.Fields})
	if err != nil {
		return e.readPage(ctx, q, keys)
	}
	gen := e.cs.gen.Load()
	if keys && !q.CountOnly && len(q.Fields) == 0 {
		return e.keysPage(ctx, q, "keys\x00"+string(kb), gen)
	}
	v, _, err := e.cs.answers.do(ctx, "page\x00"+string(kb), gen, read)
	if err != nil {
		return nil, err
	}
	return v.(*RawPage), nil
}

// pageKeys is a page as the answer cache holds it while the entity cache
// may be served: which entities it holds, not their JSON, which the
// entity cache has. A team's page of components is then ~1 KB instead of
// ~40 KB, so that the cache holds every team's page, not a few hundred.
type pageKeys struct {
	refs, uids  []string
	hasMore     bool
	total       int
	first, last *store.Position
}

// keysPage is EntitiesRaw for a whole-entity page while the entity cache
// may be served (its validity ensured, gen taken after): the answer cache
// holds the page's keys (pageKeys) and a hit takes each entity's JSON
// from the entity cache; those it no longer has are read by ref.
func (e *Engine) keysPage(ctx context.Context, q Query, key string, gen uint64) (*RawPage, error) {
	var own *RawPage
	v, ran, err := e.cs.answers.do(ctx, key, gen, func(ctx context.Context) (any, int64, error) {
		page, err := e.readPage(ctx, q, true)
		if err != nil {
			return nil, 0, err
		}
		own = page
		k := &pageKeys{refs: make([]string, len(page.Items)), uids: make([]string, len(page.Items)),
			hasMore: page.HasMore, total: page.Total, first: page.First, last: page.Last}
		size := int64(96 + len(page.Items)*32)
		for i, it := range page.Items {
			k.refs[i], k.uids[i] = it.Ref, it.UID
			size += int64(len(it.Ref) + len(it.UID))
		}
		for _, pos := range []*store.Position{k.first, k.last} {
			if pos != nil {
				size += 64
				if pos.Value != nil {
					size += int64(len(*pos.Value))
				}
			}
		}
		return k, size, nil
	})
	if err != nil {
		return nil, err
	}
	if ran {
		return own, nil
	}
	k := v.(*pageKeys)
	page := &RawPage{Items: make([]*Raw, len(k.uids)), HasMore: k.hasMore, Total: k.total, First: k.first, Last: k.last}
	var miss []int
	for i, uid := range k.uids {
		if raw := e.ents.get(true, uid, gen); raw != nil && raw.Ref == k.refs[i] {
			page.Items[i] = raw
		} else {
			miss = append(miss, i)
		}
	}
	if len(miss) > 0 {
		// Evicted from the entity cache (a catalog larger than its
		// budget), or the entity changed: as entitiesRaw fills its misses.
		if err := e.fillMissing(ctx, page, k.refs, miss, q.Filter, gen); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// readPage reads one page from the store, projected to q.Fields; keys
// only (entitiesRaw) when keys.
func (e *Engine) readPage(ctx context.Context, q Query, keys bool) (*RawPage, error) {
	if q.CountOnly {
		// No page to read or stitch: the store counts and nothing else.
		p := listParams(q)
		p.CountOnly = true
		res, err := e.store.EntityList(ctx, p)
		if err != nil {
			return nil, err
		}
		return &RawPage{Total: res.Total}, nil
	}
	page, err := e.entitiesRaw(ctx, q, keys)
	if err != nil {
		return nil, err
	}
	if len(q.Fields) > 0 {
		if err := projectPage(page, q.Fields); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// projectPage replaces each item's JSON by its projection to fields,
// encoded as the API encodes a projected entity.
func projectPage(page *RawPage, fields []string) error {
	items, err := ProjectRaw(page.Items, fields)
	if err != nil {
		return err
	}
	page.Items = items
	page.Projected = true
	return nil
}

// pageSize estimates the memory of a page as held: each item's JSON by
// its capacity (what its allocation holds, not what it shows), the Raw
// and its slot in Items, its strings; the positions.
func pageSize(p *RawPage) int64 {
	n := int64(96) + int64(cap(p.Items))*8
	for _, it := range p.Items {
		n += int64(cap(it.JSON)+len(it.Ref)+len(it.UID)) + rawOverhead
	}
	for _, pos := range []*store.Position{p.First, p.Last} {
		if pos != nil {
			n += int64(len(pos.UID)) + 64
			if pos.Value != nil {
				n += int64(len(*pos.Value))
			}
		}
	}
	return n
}

// rawOverhead is what a Raw costs besides its bytes: the struct (64 bytes
// with its allocation) and the rounding of its strings' allocations.
const rawOverhead = 96
