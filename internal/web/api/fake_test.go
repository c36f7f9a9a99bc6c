package api

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// fakeCatalog is an in-memory engine.Catalog: entities sorted by UID, or by
// metadata.name when the order asks for it, with keyset paging.
type fakeCatalog struct {
	entities  []*catalog.Entity
	locations []store.Location
	problems  []engine.Problem
	calls     []engine.Query
	deleted   []string
	refreshed []string
	added     []engine.LocationSpec
	failAfter int // fail Entities calls after this many (0: never)
}

var _ engine.Catalog = (*fakeCatalog)(nil)

func newFake(n int) *fakeCatalog {
	f := &fakeCatalog{}
	for i := 0; i < n; i++ {
		name := string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		kind := "Component"
		if i%3 == 0 {
			kind = "API"
		}
		f.entities = append(f.entities, &catalog.Entity{
			APIVersion: "backstage.io/v1alpha1",
			Kind:       kind,
			Metadata:   catalog.Metadata{Name: name, Namespace: "default", UID: uid(i)},
			Spec:       map[string]any{"type": "service", "owner": "team-a"},
		})
	}
	return f
}

func uid(i int) string { return "uid-" + string(rune('A'+i/26)) + string(rune('a'+i%26)) }

func (f *fakeCatalog) sortValue(e *catalog.Entity, o *store.Order) string {
	if o != nil && o.Field == "metadata.name" {
		return strings.ToLower(e.Metadata.Name)
	}
	return e.Metadata.UID
}

func (f *fakeCatalog) matches(e *catalog.Entity, filter *catalog.Filter) bool {
	if filter == nil {
		return true
	}
	switch filter.Op {
	case catalog.OpAll:
		for _, c := range filter.Children {
			if !f.matches(e, c) {
				return false
			}
		}
		return true
	case catalog.OpAny:
		for _, c := range filter.Children {
			if f.matches(e, c) {
				return true
			}
		}
		return false
	case catalog.OpNot:
		return !f.matches(e, filter.Children[0])
	}
	if filter.Key != "kind" {
		return false
	}
	for _, v := range filter.Values {
		if strings.EqualFold(v, e.Kind) {
			return true
		}
	}
	return filter.Match == catalog.MatchExists
}

func (f *fakeCatalog) Entities(ctx context.Context, q engine.Query) (*engine.Page, error) {
	f.calls = append(f.calls, q)
	if f.failAfter > 0 && len(f.calls) > f.failAfter {
		return nil, fault.New(fault.Unavailable, "database gone")
	}
	var all []*catalog.Entity
	for _, e := range f.entities {
		if f.matches(e, q.Filter) {
			all = append(all, e)
		}
	}
	desc := q.Order != nil && q.Order.Desc
	sort.Slice(all, func(i, j int) bool {
		a, b := f.sortValue(all[i], q.Order), f.sortValue(all[j], q.Order)
		if desc {
			return a > b
		}
		return a < b
	})
	before := func(e *catalog.Entity, p *store.Position) bool {
		v := f.sortValue(e, q.Order)
		if desc {
			return v > *p.Value
		}
		return v < *p.Value
	}
	var sel []*catalog.Entity
	hasMore := false
	switch {
	case q.After != nil:
		for _, e := range all {
			if !before(e, q.After) && f.sortValue(e, q.Order) != *q.After.Value {
				sel = append(sel, e)
			}
		}
	case q.Before != nil:
		for _, e := range all {
			if before(e, q.Before) {
				sel = append(sel, e)
			}
		}
		if q.Limit > 0 && len(sel) > q.Limit {
			sel, hasMore = sel[len(sel)-q.Limit:], true
		}
	default:
		if q.Offset < len(all) {
			sel = all[q.Offset:]
		}
	}
	if q.Before == nil && q.Limit > 0 && len(sel) > q.Limit {
		sel, hasMore = sel[:q.Limit], true
	}
	p := &engine.Page{Items: sel, HasMore: hasMore}
	if q.CountTotal {
		p.Total = len(all)
	}
	if len(sel) > 0 {
		first, last := f.sortValue(sel[0], q.Order), f.sortValue(sel[len(sel)-1], q.Order)
		p.First = &store.Position{Value: &first, UID: sel[0].Metadata.UID}
		p.Last = &store.Position{Value: &last, UID: sel[len(sel)-1].Metadata.UID}
	}
	return p, nil
}

func (f *fakeCatalog) EntityByRef(ctx context.Context, ref string) (*catalog.Entity, error) {
	for _, e := range f.entities {
		if e.Ref().String() == ref {
			return e, nil
		}
	}
	return nil, fault.New(fault.NotFound, "no entity %s", ref)
}

func (f *fakeCatalog) EntityByUID(ctx context.Context, uid string) (*catalog.Entity, error) {
	for _, e := range f.entities {
		if e.Metadata.UID == uid {
			return e, nil
		}
	}
	return nil, fault.New(fault.NotFound, "no entity with uid %s", uid)
}

func (f *fakeCatalog) EntitiesByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Entity, error) {
	out := make([]*catalog.Entity, len(refs))
	for i, r := range refs {
		if e, err := f.EntityByRef(ctx, r); err == nil && f.matches(e, filter) {
			out[i] = e
		}
	}
	return out, nil
}

func (f *fakeCatalog) Facets(ctx context.Context, facets []string, filter *catalog.Filter) (map[string][]store.FacetCount, error) {
	out := map[string][]store.FacetCount{}
	for _, name := range facets {
		if name != "kind" {
			continue
		}
		counts := map[string]int{}
		for _, e := range f.entities {
			if f.matches(e, filter) {
				counts[e.Kind]++
			}
		}
		for v, n := range counts {
			out[name] = append(out[name], store.FacetCount{Value: v, Count: n})
		}
		sort.Slice(out[name], func(i, j int) bool { return out[name][i].Value < out[name][j].Value })
	}
	return out, nil
}

func (f *fakeCatalog) Search(ctx context.Context, p store.EntitySearchParams) ([]*catalog.Entity, error) {
	return nil, nil
}

func (f *fakeCatalog) DeleteByUID(ctx context.Context, uid string) error {
	f.deleted = append(f.deleted, uid)
	return fault.New(fault.NotFound, "no entity with uid %s", uid)
}

func (f *fakeCatalog) Refresh(ctx context.Context, ref string) error {
	if _, err := f.EntityByRef(ctx, ref); err != nil {
		return err
	}
	f.refreshed = append(f.refreshed, ref)
	return nil
}

func (f *fakeCatalog) Ancestry(ctx context.Context, ref string) (*engine.Ancestry, error) {
	e, err := f.EntityByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &engine.Ancestry{RootEntityRef: ref, Items: []engine.AncestryItem{{Entity: e, ParentEntityRefs: []string{}}}}, nil
}

func (f *fakeCatalog) ValidateEntity(ctx context.Context, location string, raw json.RawMessage) ([]engine.Problem, error) {
	return f.problems, nil
}

func (f *fakeCatalog) AddLocation(ctx context.Context, spec engine.LocationSpec, dryRun bool) (*engine.AddLocationResult, error) {
	for _, l := range f.locations {
		if l.Type == spec.Type && l.Target == spec.Target && !dryRun {
			return nil, fault.New(fault.Conflict, "Location %s:%s already exists", spec.Type, spec.Target)
		}
	}
	f.added = append(f.added, spec)
	loc := store.Location{ID: "loc-1", Type: spec.Type, Target: spec.Target}
	if !dryRun {
		f.locations = append(f.locations, loc)
	}
	return &engine.AddLocationResult{Location: loc}, nil
}

func (f *fakeCatalog) Locations(ctx context.Context) ([]store.Location, error) {
	return f.locations, nil
}

func (f *fakeCatalog) Location(ctx context.Context, id string) (*store.Location, error) {
	for _, l := range f.locations {
		if l.ID == id {
			return &l, nil
		}
	}
	return nil, fault.New(fault.NotFound, "no location %s", id)
}

func (f *fakeCatalog) DeleteLocation(ctx context.Context, id string) error {
	for i, l := range f.locations {
		if l.ID == id {
			f.locations = append(f.locations[:i], f.locations[i+1:]...)
			return nil
		}
	}
	return fault.New(fault.NotFound, "no location %s", id)
}

func (f *fakeCatalog) UpdateLocation(ctx context.Context, id string, spec engine.LocationSpec) (*store.Location, error) {
	for i, l := range f.locations {
		if l.ID == id {
			f.locations[i].Type, f.locations[i].Target = spec.Type, spec.Target
			return &f.locations[i], nil
		}
	}
	return nil, fault.New(fault.NotFound, "no location %s", id)
}

func (f *fakeCatalog) LocationByEntity(ctx context.Context, ref string) (*store.Location, error) {
	if _, err := f.EntityByRef(ctx, ref); err != nil || len(f.locations) == 0 {
		return nil, fault.New(fault.NotFound, "none")
	}
	return &f.locations[0], nil
}

func (f *fakeCatalog) AnalyzeLocation(ctx context.Context, spec engine.LocationSpec, catalogFilename string) (*engine.Analysis, error) {
	return &engine.Analysis{}, nil
}
