package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// refsChunk is how many refs one by-refs store call reads.
const refsChunk = 200

// maxAncestry bounds the entities an ancestry walk returns.
const maxAncestry = 1000

// Stitch turns a stored record into the entity the API serves: the body
// with its relations, its status (only when it has items, as Backstage
// does) and an etag that changes whenever any of them does.
func Stitch(s *catalog.Stored) (*catalog.Entity, error) {
	var ent catalog.Entity
	if err := json.Unmarshal(s.Body, &ent); err != nil {
		return nil, fault.Wrap(fault.Internal, err, "stored entity %s is unreadable", s.Ref)
	}
	ent.Metadata.UID = s.UID
	ent.Relations = s.Relations
	if len(s.Errors) > 0 {
		ent.Status = &catalog.Status{Items: s.Errors}
	}
	ent.Metadata.Etag = etag(s)
	return &ent, nil
}

// etag hashes what makes the final entity.
func etag(s *catalog.Stored) string {
	var buf [etagLen]byte
	return string(appendEtag(buf[:0], s))
}

// etagLen is the length of an etag: 18 bytes of SHA-256 in unpadded
// base64url.
const etagLen = 24

// appendEtag appends the etag of s to dst. The hashed bytes are gathered in
// a buffer on the stack (most entities' uid, hash and relations fit) and
// hashed at once: a hash.Hash, its sum and the encoded string were three
// allocations per stitched entity.
func appendEtag(dst []byte, s *catalog.Stored) []byte {
	var stack [1024]byte
	in := append(stack[:0], s.UID...)
	in = append(in, 0)
	in = append(in, s.Hash...)
	for _, r := range s.Relations {
		in = append(in, 0)
		in = append(in, r.Type...)
		in = append(in, 1)
		in = append(in, r.TargetRef...)
	}
	if len(s.Errors) > 0 {
		b, _ := json.Marshal(s.Errors)
		in = append(in, b...)
	}
	sum := sha256.Sum256(in)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:18])
}

// parseEntityRef canonicalises a full entity ref.
func parseEntityRef(ref string) (catalog.Ref, error) {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil {
		return catalog.Ref{}, fault.Wrap(fault.Invalid, err, "%s", err.Error())
	}
	return r, nil
}

func notFoundRef(r catalog.Ref) error {
	return fault.New(fault.NotFound, "No entity named '%s' found, with kind '%s' in namespace '%s'", r.Name, r.Kind, r.Namespace)
}

// EntityByRef returns the entity ref names; fault.NotFound when absent.
// The caller owns the entity: it is decoded from the (possibly cached)
// final JSON.
func (e *Engine) EntityByRef(ctx context.Context, ref string) (*catalog.Entity, error) {
	raw, err := e.EntityRawByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	// Decoding copies what it keeps: the JSON's buffer can be reused.
	defer raw.Release()
	return raw.Entity()
}

// EntityByUID returns the entity with uid; fault.NotFound when absent.
func (e *Engine) EntityByUID(ctx context.Context, uid string) (*catalog.Entity, error) {
	raw, err := e.EntityRawByUID(ctx, uid)
	if err != nil {
		return nil, err
	}
	// Decoding copies what it keeps: the JSON's buffer can be reused.
	defer raw.Release()
	return raw.Entity()
}

// EntitiesByRefs returns the entities refs name, in order, nil where absent,
// filtered out, or not a valid ref.
func (e *Engine) EntitiesByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Entity, error) {
	out := make([]*catalog.Entity, len(refs))
	for start := 0; start < len(refs); start += refsChunk {
		end := min(start+refsChunk, len(refs))
		canon := make([]string, 0, end-start)
		at := make([]int, 0, end-start)
		for i := start; i < end; i++ {
			r, err := catalog.ParseRef(refs[i], catalog.RefDefaults{})
			if err != nil {
				continue
			}
			canon = append(canon, r.String())
			at = append(at, i)
		}
		if len(canon) == 0 {
			continue
		}
		got, err := e.store.EntityGetByRefs(ctx, canon, filter)
		if err != nil {
			return nil, err
		}
		for j, s := range got {
			if s == nil || j >= len(at) {
				continue
			}
			ent, err := Stitch(s)
			if err != nil {
				return nil, err
			}
			out[at[j]] = ent
		}
	}
	return out, nil
}

// EntitiesRawByRefs returns the final JSON of the entities refs name, in
// order, nil where absent, filtered out, or not a valid ref. Without a
// filter, entities current in the entity cache are served from it; the
// others (all of them under a filter, which the cache cannot evaluate) are
// read from the store in batches and cached.
func (e *Engine) EntitiesRawByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*Raw, error) {
	out := make([]*Raw, len(refs))
	// The generation is taken before any read, as rawLookup does, so
	// that a write during the read keeps its result out of the cache.
	useCache := filter == nil && e.ents.enabled() && e.valid.ensure(ctx)
	gen := e.cs.gen.Load()
	var miss []string
	var missAt []int
	for i, ref := range refs {
		r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
		if err != nil {
			continue
		}
		key := r.String()
		if useCache {
			if raw := e.ents.get(false, key, gen); raw != nil {
				out[i] = raw
				continue
			}
		}
		miss = append(miss, key)
		missAt = append(missAt, i)
	}
	for start := 0; start < len(miss); start += refsChunk {
		end := min(start+refsChunk, len(miss))
		got, err := e.store.EntityGetByRefs(ctx, miss[start:end], filter)
		if err != nil {
			return nil, err
		}
		for j, s := range got {
			if s == nil || start+j >= end {
				continue
			}
			b, err := StitchJSON(s)
			if err != nil {
				return nil, err
			}
			raw := &Raw{Ref: s.Ref, UID: s.UID, JSON: b}
			e.ents.put(raw, gen)
			out[missAt[start+j]] = raw
		}
	}
	return out, nil
}

// Entities returns one page of entities.
func (e *Engine) Entities(ctx context.Context, q Query) (*Page, error) {
	res, err := e.store.EntityList(ctx, listParams(q))
	if err != nil {
		return nil, err
	}
	page := &Page{Items: make([]*catalog.Entity, 0, len(res.Items)), HasMore: res.HasMore, Total: res.Total}
	for _, s := range res.Items {
		ent, err := Stitch(s)
		if err != nil {
			return nil, err
		}
		page.Items = append(page.Items, ent)
	}
	if n := len(res.Items); n > 0 {
		page.First = &store.Position{Value: res.Items[0].SortValue, UID: res.Items[0].UID}
		page.Last = &store.Position{Value: res.Items[n-1].SortValue, UID: res.Items[n-1].UID}
	}
	return page, nil
}

// Facets counts entities per value of each facet.
func (e *Engine) Facets(ctx context.Context, facets []string, filter *catalog.Filter) (map[string][]store.FacetCount, error) {
	if len(facets) == 0 {
		return nil, fault.New(fault.Invalid, "Missing facet parameter")
	}
	return e.store.EntityFacets(ctx, store.EntityFacetsParams{Facets: facets, Filter: filter})
}

// Search runs a full-text query and returns the entities, best first.
func (e *Engine) Search(ctx context.Context, p store.EntitySearchParams) ([]*catalog.Entity, error) {
	hits, err := e.store.EntitySearch(ctx, p)
	if err != nil {
		return nil, err
	}
	refs := make([]string, len(hits))
	for i, h := range hits {
		refs[i] = h.Ref
	}
	ents, err := e.EntitiesByRefs(ctx, refs, nil)
	if err != nil {
		return nil, err
	}
	out := ents[:0]
	for _, ent := range ents {
		if ent != nil {
			out = append(out, ent)
		}
	}
	return out, nil
}

// DeleteByUID deletes one entity (§2.7); absent entities are not an error.
// Its children that no other parent emits become orphans. A live entity
// comes back on its parent's next processing.
func (e *Engine) DeleteByUID(ctx context.Context, uid string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, err := e.store.EntityGetByUID(ctx, uid)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil
		}
		return err
	}
	kids, err := e.store.EdgeChildren(ctx, s.Ref)
	if err != nil {
		return err
	}
	if err := e.store.EntityDelete(ctx, []string{s.Ref}); err != nil {
		return err
	}
	e.subs.publish(ChangeDelete, []string{s.Ref})
	return e.handleOrphans(ctx, kids)
}

// Ancestry returns the entity and its emitters up to the roots (§2.8).
func (e *Engine) Ancestry(ctx context.Context, ref string) (*Ancestry, error) {
	r, err := parseEntityRef(ref)
	if err != nil {
		return nil, err
	}
	root := r.String()
	out := &Ancestry{RootEntityRef: root}
	seen := map[string]bool{root: true}
	queue := []string{root}
	for len(queue) > 0 && len(out.Items) < maxAncestry {
		cur := queue[0]
		queue = queue[1:]
		s, err := e.store.EntityGetByRef(ctx, cur)
		if err != nil {
			if fault.Is(err, fault.NotFound) {
				if cur == root {
					return nil, notFoundRef(r)
				}
				continue
			}
			return nil, err
		}
		ent, err := Stitch(s)
		if err != nil {
			return nil, err
		}
		parents, err := e.store.EdgeParents(ctx, []string{cur})
		if err != nil {
			return nil, err
		}
		item := AncestryItem{Entity: ent, ParentEntityRefs: []string{}}
		for _, p := range parents[cur] {
			if strings.HasPrefix(p, "provider:") {
				continue
			}
			item.ParentEntityRefs = append(item.ParentEntityRefs, p)
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}
