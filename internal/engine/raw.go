package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// Raw is an entity as the API serves it: its final JSON (relations, status
// and etag included) with its identity. JSON may be shared with the cache
// and other callers: it must not be modified.
type Raw struct {
	Ref  string
	UID  string
	JSON []byte

	// buf is the recycled buffer JSON lies at the start of, with room
	// for a newline after it, when the Raw came from rawPool
	// (entityCache.getReleasable); nil otherwise.
	buf []byte
}

// rawPool recycles the Raws of entity cache hits that their caller hands
// back (Release), buffers included: a by-name answer then costs no 1 KB
// allocation, zeroed and collected, for JSON that is only copied into the
// connection's buffer.
var rawPool = sync.Pool{New: func() any { return &Raw{buf: make([]byte, 0, 2048)} }}

// maxReleasableJSON bounds the JSON decoded into recycled buffers, so that
// one very large entity does not keep its buffer in the pool.
const maxReleasableJSON = 64 << 10

// Line returns JSON followed by a newline, as the API writes an entity,
// without a copy, when the Raw's buffer has room for it (an entity cache
// hit's); nil otherwise. It is valid until Release.
func (r *Raw) Line() []byte {
	if len(r.JSON) == 0 || len(r.JSON) >= cap(r.buf) || &r.JSON[0] != &r.buf[:1][0] {
		return nil
	}
	line := r.buf[:len(r.JSON)+1]
	line[len(r.JSON)] = '\n'
	return line
}

// Release hands r back for reuse once its caller has written it: r and its
// JSON must not be used afterwards. It does nothing for a Raw that is not
// recycled (read from the store, shared with a cache, built elsewhere),
// so every caller that owns the Raw it was given may call it.
func (r *Raw) Release() {
	if r == nil || r.buf == nil {
		return
	}
	r.Ref, r.UID, r.JSON = "", "", nil
	r.buf = r.buf[:0]
	rawPool.Put(r)
}

// Entity decodes the JSON into a new entity the caller owns.
func (r *Raw) Entity() (*catalog.Entity, error) {
	var ent catalog.Entity
	if err := json.Unmarshal(r.JSON, &ent); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "entity %s is unreadable", r.Ref)
	}
	return &ent, nil
}

// RawPage is one page of entities as Raw. A page may be shared with the
// cache and other callers: it must not be modified.
type RawPage struct {
	Items       []*Raw
	HasMore     bool
	Total       int
	First, Last *store.Position
	// Projected is true when each item's JSON holds only Query.Fields.
	Projected bool
}

// RawCatalog is implemented by catalogs that can serve entities as their
// final JSON without decoding them (the engine, from its entity cache, and
// the authorizing decorator over it). The web API uses it when present.
type RawCatalog interface {
	EntityRawByRef(ctx context.Context, ref string) (*Raw, error)
	EntityRawByUID(ctx context.Context, uid string) (*Raw, error)
	EntitiesRaw(ctx context.Context, q Query) (*RawPage, error)
}

var _ RawCatalog = (*Engine)(nil)

// RawByRefs is implemented by catalogs that can serve a by-refs read as
// final JSON (the engine, and the authorizing decorator over it).
type RawByRefs interface {
	// EntitiesRawByRefs is EntitiesByRefs as final JSON: one item per ref,
	// in order, nil where absent, filtered out, or not a valid ref.
	EntitiesRawByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*Raw, error)
}

var _ RawByRefs = (*Engine)(nil)

// ProjectRaw returns items, each projected to fields as the API encodes a
// projected entity (nil items stay nil); items itself is not modified.
// Each item is projected from its JSON without decoding it (projectJSON);
// one that is not well-formed is decoded and projected as an entity.
func ProjectRaw(items []*Raw, fields []string) ([]*Raw, error) {
	out := make([]*Raw, len(items))
	// The projections share one buffer: one allocation (and its growth)
	// for the page instead of one per item.
	n, size := 0, 0
	for _, it := range items {
		if it != nil {
			n++
			size += len(it.JSON) / 4
		}
	}
	if n == 0 {
		return out, nil // nothing to project: fields are not checked
	}
	paths, err := projectFields(fields)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, size+64)
	for i, it := range items {
		if it == nil {
			continue
		}
		start := len(buf)
		var ok bool
		if buf, ok = projectJSON(buf, it.JSON, paths); ok {
			out[i] = &Raw{Ref: it.Ref, UID: it.UID, JSON: buf[start:len(buf):len(buf)]}
			continue
		}
		buf = buf[:start]
		if out[i], err = decodeProject(it, fields); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeProject projects one item by decoding it into an entity and
// encoding catalog.Project's answer.
func decodeProject(it *Raw, fields []string) (*Raw, error) {
	ent, err := it.Entity()
	if err != nil {
		return nil, err
	}
	p, err := catalog.Project(ent, fields)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "encoding entity %s", it.Ref)
	}
	return &Raw{Ref: it.Ref, UID: it.UID, JSON: bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})}, nil
}

// EntityRawByRef returns the final JSON of the entity ref names, from the
// entity cache when it is current; fault.NotFound when absent.
func (e *Engine) EntityRawByRef(ctx context.Context, ref string) (*Raw, error) {
	r, err := parseEntityRef(ref)
	if err != nil {
		return nil, err
	}
	key := ref
	if !isCanonicalRef(ref, r) {
		key = r.String()
	}
	return e.rawLookup(ctx, false, key, func() error { return notFoundRef(r) })
}

// isCanonicalRef reports whether s, parsed as r, is already r.String():
// callers mostly pass refs they formatted themselves, and formatting one
// again cost an allocation per lookup.
func isCanonicalRef(s string, r catalog.Ref) bool {
	ns := r.Namespace
	if ns == "" {
		return false
	}
	k, n := len(r.Kind), len(ns)
	return len(s) == k+1+n+1+len(r.Name) &&
		s[k] == ':' && s[k+1+n] == '/' &&
		s[:k] == r.Kind && s[k+1:k+1+n] == ns && s[k+1+n+1:] == r.Name &&
		strings.ToLower(s) == s
}

// EntityRawByUID returns the final JSON of the entity with uid;
// fault.NotFound when absent.
func (e *Engine) EntityRawByUID(ctx context.Context, uid string) (*Raw, error) {
	return e.rawLookup(ctx, true, uid, func() error { return fault.New(fault.NotFound, "No entity with uid %s", uid) })
}

func (e *Engine) rawLookup(ctx context.Context, byUID bool, key string, notFound func() error) (*Raw, error) {
	// Validity first, then the generation: a check that finds a change
	// starts a new one, and entries are only put and served under the
	// generation current before the read.
	cached := e.ents.enabled() && e.valid.ensure(ctx)
	gen := e.cs.gen.Load()
	if cached {
		if raw := e.ents.getReleasable(byUID, key, gen); raw != nil {
			return raw, nil
		}
	}
	var s *catalog.Stored
	var err error
	if byUID {
		s, err = e.store.EntityGetByUID(ctx, key)
	} else {
		s, err = e.store.EntityGetByRef(ctx, key)
	}
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil, notFound()
		}
		return nil, err
	}
	b, err := StitchJSON(s)
	if err != nil {
		return nil, err
	}
	raw := &Raw{Ref: s.Ref, UID: s.UID, JSON: b}
	e.ents.put(raw, gen)
	return raw, nil
}

// entitiesRaw returns one page of entities as their final JSON, uncached
// (EntitiesRaw, readcache_pages.go, caches it).
//
// With keys, which the caller sets when the entity cache may be served
// (its validity ensured before this call, as rawLookup does before it
// takes the generation), the page is read keys only
// (store.EntityListParams.KeysOnly): the store says which entities the
// page holds, and their final JSON comes from the cache, as by-name's
// does; only the entities the cache lacks are read in full, by ref. A
// page of a team's components at 100k entities on PostgreSQL then sends
// no bodies or relations and stitches nothing (both engines honour
// KeysOnly).
func (e *Engine) entitiesRaw(ctx context.Context, q Query, keys bool) (*RawPage, error) {
	p := listParams(q)
	p.KeysOnly = keys
	gen := e.cs.gen.Load()
	res, err := e.store.EntityList(ctx, p)
	if err != nil {
		return nil, err
	}
	page := &RawPage{Items: make([]*Raw, 0, len(res.Items)), HasMore: res.HasMore, Total: res.Total}
	var miss []int // indexes in res.Items of items read keys only, not cached
	for i, s := range res.Items {
		if s.Body == nil && p.KeysOnly {
			if raw := e.ents.get(true, s.UID, gen); raw != nil && raw.Ref == s.Ref {
				page.Items = append(page.Items, raw)
				continue
			}
			miss = append(miss, i)
			page.Items = append(page.Items, nil)
			continue
		}
		b, err := StitchJSON(s)
		if err != nil {
			return nil, err
		}
		raw := &Raw{Ref: s.Ref, UID: s.UID, JSON: b}
		if p.KeysOnly && !e.ents.has(s.Ref, gen) {
			// A store that answered with whole entities although
			// asked for keys (a driver that ignores KeysOnly, or an
			// entity it read in full): the answer cache keeps the
			// page's keys (keysPage), whose hits take the JSON from
			// the entity cache.
			e.ents.put(raw, gen)
		}
		page.Items = append(page.Items, raw)
	}
	if len(miss) > 0 {
		refs := make([]string, len(res.Items))
		for i, s := range res.Items {
			refs[i] = s.Ref
		}
		if err := e.fillMissing(ctx, page, refs, miss, q.Filter, gen); err != nil {
			return nil, err
		}
	}
	if n := len(res.Items); n > 0 {
		page.First = &store.Position{Value: res.Items[0].SortValue, UID: res.Items[0].UID}
		page.Last = &store.Position{Value: res.Items[n-1].SortValue, UID: res.Items[n-1].UID}
	}
	return page, nil
}

// fillMissing reads the entities at miss (indexes in page.Items, whose
// slots are nil, and in pageRefs, the refs of the page's items) by ref
// under filter, caches them, and drops from the page those no longer there
// or no longer matching: they changed since the page was read.
func (e *Engine) fillMissing(ctx context.Context, page *RawPage, pageRefs []string, miss []int, filter *catalog.Filter, gen uint64) error {
	refs := make([]string, len(miss))
	for j, i := range miss {
		refs[j] = pageRefs[i]
	}
	for start := 0; start < len(refs); start += refsChunk {
		end := min(start+refsChunk, len(refs))
		got, err := e.store.EntityGetByRefs(ctx, refs[start:end], filter)
		if err != nil {
			return err
		}
		for j, s := range got {
			if s == nil || start+j >= end {
				continue
			}
			b, err := StitchJSON(s)
			if err != nil {
				return err
			}
			raw := &Raw{Ref: s.Ref, UID: s.UID, JSON: b}
			e.ents.put(raw, gen)
			page.Items[miss[start+j]] = raw
		}
	}
	page.Items = slices.DeleteFunc(page.Items, func(r *Raw) bool { return r == nil })
	return nil
}

func listParams(q Query) store.EntityListParams {
	return store.EntityListParams{
		Filter: q.Filter, Order: q.Order, ThenBy: q.ThenBy, FullText: q.FullText,
		After: q.After, Before: q.Before, Offset: q.Offset, Limit: q.Limit,
		CountTotal: q.CountTotal,
	}
}
