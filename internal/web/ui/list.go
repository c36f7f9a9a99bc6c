package ui

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// facetDef is a filter of the catalog list: its URL parameter and the
// entity field it matches.
type facetDef struct {
	Param string
	Key   string
	Label string
}

// facetDefs are the catalog list's facets, in display order.
var facetDefs = []facetDef{
	{Param: "type", Key: "spec.type", Label: "Type"},
	{Param: "owner", Key: "spec.owner", Label: "Owner"},
	{Param: "lifecycle", Key: "spec.lifecycle", Label: "Lifecycle"},
	{Param: "system", Key: "spec.system", Label: "System"},
	{Param: "tag", Key: "metadata.tags", Label: "Tags"},
	{Param: "namespace", Key: "metadata.namespace", Label: "Namespace"},
}

// facetShown caps the values listed per facet (selected ones always show).
const facetShown = 12

// maxMoreValues caps the values of a facet's "more" list.
const maxMoreValues = 100

// maxFacetValues caps the values one facet parameter may select.
const maxFacetValues = 50

// sortFields maps the sortable columns to entity fields.
var sortFields = map[string]string{
	"name": "metadata.name", "type": "spec.type", "owner": "spec.owner",
	"lifecycle": "spec.lifecycle", "system": "spec.system", "kind": "kind",
}

// listState is everything the catalog list's URL says; the page is a pure
// function of it, so links can be shared and the back button works.
type listState struct {
	Kind     string
	Q        string
	Selected map[string][]string // facet param → values
	OwnedBy  []string
	Sort     string
	Desc     bool
	After    string
	Before   string
	Limit    int
}

func (u *UI) parseListState(q url.Values) (listState, error) {
	s := listState{
		Kind:     strings.ToLower(strings.TrimSpace(q.Get("kind"))),
		Q:        strings.TrimSpace(q.Get("q")),
		Selected: map[string][]string{},
		Sort:     q.Get("sort"),
		Desc:     q.Get("dir") == "desc",
		After:    q.Get("after"),
		Before:   q.Get("before"),
		Limit:    u.p.Limits.PageSize,
	}
	if s.Sort == "" {
		s.Sort = "name"
	}
	if _, ok := sortFields[s.Sort]; !ok {
		return s, fault.New(fault.Invalid, "sort must be one of name, kind, type, owner, lifecycle or system, got %q", s.Sort)
	}
	for _, f := range facetDefs {
		vals := nonEmpty(q[f.Param])
		if len(vals) > maxFacetValues {
			return s, fault.New(fault.Invalid, "at most %d values of %s may be selected, got %d", maxFacetValues, f.Param, len(vals))
		}
		if len(vals) > 0 {
			s.Selected[f.Param] = vals
		}
	}
	s.OwnedBy = lowerAll(nonEmpty(q["ownedby"]))
	if len(s.OwnedBy) > maxFacetValues {
		return s, fault.New(fault.Invalid, "at most %d ownedby values may be given, got %d", maxFacetValues, len(s.OwnedBy))
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return s, fault.New(fault.Invalid, "limit must be a positive number, got %q", v)
		}
		s.Limit = min(n, u.p.Limits.MaxPageSize)
	}
	return s, nil
}

func nonEmpty(vals []string) []string {
	var out []string
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// values encodes the state back into a query, without the cursor.
func (s listState) values() url.Values {
	v := url.Values{}
	if s.Kind != "" {
		v.Set("kind", s.Kind)
	}
	if s.Q != "" {
		v.Set("q", s.Q)
	}
	for _, f := range facetDefs {
		for _, val := range s.Selected[f.Param] {
			v.Add(f.Param, val)
		}
	}
	for _, o := range s.OwnedBy {
		v.Add("ownedby", o)
	}
	if s.Sort != "name" {
		v.Set("sort", s.Sort)
	}
	if s.Desc {
		v.Set("dir", "desc")
	}
	return v
}

func listHref(v url.Values) string {
	if len(v) == 0 {
		return "/catalog"
	}
	return "/catalog?" + v.Encode()
}

// baseFilter selects the kind and the owners, the part of the filter that
// facet counts share.
func (s listState) baseFilter() *catalog.Filter {
	var leaves []*catalog.Filter
	if s.Kind != "" {
		leaves = append(leaves, catalog.In("kind", s.Kind))
	}
	if len(s.OwnedBy) > 0 {
		leaves = append(leaves, catalog.In("relations.ownedby", s.OwnedBy...))
	}
	if len(leaves) == 0 {
		return nil
	}
	return catalog.All(leaves...)
}

// filter is the whole filter of the list: base plus selected facets.
func (s listState) filter() *catalog.Filter {
	leaves := []*catalog.Filter{}
	if b := s.baseFilter(); b != nil {
		leaves = append(leaves, b.Children...)
	}
	for _, f := range facetDefs {
		if vals := s.Selected[f.Param]; len(vals) > 0 {
			leaves = append(leaves, catalog.In(f.Key, lowerAll(vals)...))
		}
	}
	if len(leaves) == 0 {
		return nil
	}
	return catalog.All(leaves...)
}

// listCursor is the opaque page cursor of the list's URL.
// It carries the total the first page counted, so that later pages need
// not count every match again.
type listCursor struct {
	Value *string `json:"v,omitempty"`
	UID   string  `json:"u"`
	Total int     `json:"t,omitempty"`
}

func encodeListCursor(p *store.Position, total int) string {
	if p == nil {
		return ""
	}
	b, _ := json.Marshal(listCursor{Value: p.Value, UID: p.UID, Total: total})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeListCursor returns the position and the total of a cursor (0 when
// it has none).
func decodeListCursor(s string) (*store.Position, int, error) {
	if s == "" {
		return nil, 0, nil
	}
	bad := fault.New(fault.Invalid, "the page cursor in the address is damaged; start again from the first page")
	if len(s) > 4096 {
		return nil, 0, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, 0, bad
	}
	var c listCursor
	if err := json.Unmarshal(b, &c); err != nil || c.UID == "" || c.Total < 0 {
		return nil, 0, bad
	}
	return &store.Position{Value: c.Value, UID: c.UID}, c.Total, nil
}

// totalFromFacets reads the number of matches off the cached facet counts
// when the list's filter is one they answer: no text search, and at most
// one facet selected (its values' counts under the base filter), or none
// (the kind's count, or every kind's). Counting the matches of a list
// visits every one of them, which at 100k entities costs more than the
// whole rest of the page.
func totalFromFacets(s listState, kinds []store.FacetCount, counts map[string][]store.FacetCount) (int, bool) {
	if s.Q != "" {
		return 0, false
	}
	var param string
	for p := range s.Selected {
		if param != "" {
			return 0, false
		}
		param = p
	}
	if param == "" {
		if len(s.OwnedBy) > 0 {
			return 0, false // the kind counts are over the whole catalog
		}
		n := 0
		for _, c := range kinds {
			if s.Kind == "" || strings.EqualFold(c.Value, s.Kind) {
				n += c.Count
			}
		}
		return n, true
	}
	var key string
	for _, f := range facetDefs {
		if f.Param == param {
			key = f.Key
		}
	}
	if key == "metadata.tags" && len(s.Selected[param]) > 1 {
		return 0, false // an entity may have several of the tags
	}
	want := map[string]bool{}
	for _, v := range s.Selected[param] {
		want[strings.ToLower(v)] = true
	}
	n := 0
	for _, c := range counts[key] {
		if want[strings.ToLower(c.Value)] {
			n += c.Count
		}
	}
	return n, true
}

// kindTab is one kind of the kind selector.
type kindTab struct {
	Kind    string
	Label   string
	Count   int
	Href    string
	Current bool
}

// facetView is one facet with its values and counts.
type facetView struct {
	Param  string
	Label  string
	Values []facetValue
	More   []facetValue
}

type facetValue struct {
	Value    string
	Count    int
	Selected bool
	ID       string
}

// column is a column of the list table.
type column struct {
	Key      string
	Label    string
	Sortable bool
	Href     string
	Sort     string // "ascending", "descending" or ""
}

type listData struct {
	State    listState
	Kinds    []kindTab
	Facets   []facetView
	Columns  []column
	Rows     []*catalog.Entity
	Total    int
	From, To int
	NextHref string
	PrevHref string
	Hidden   []hiddenInput
	Clear    string
	Selected int
}

type hiddenInput struct{ Name, Value string }

// catalogList is the catalog list: kind tabs, facets with counts, search,
// sortable columns and cursor paging; never more than one page is loaded.
func (u *UI) catalogList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := u.parseListState(r.URL.Query())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	after, afterTotal, err := decodeListCursor(s.After)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	before, beforeTotal, err := decodeListCursor(s.Before)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if after != nil && before != nil {
		u.fail(w, r, fault.New(fault.Invalid, "the address has both an after and a before cursor; use one"))
		return
	}
	kinds, err := u.facetCounts(ctx, []string{"kind"}, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	keys := make([]string, len(facetDefs))
	for i, f := range facetDefs {
		keys[i] = f.Key
	}
	counts, err := u.facetCounts(ctx, keys, s.baseFilter())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	// The total: from the facet counts when they answer it, else from the
	// cursor of a later page, else counted (first pages only).
	total, known := totalFromFacets(s, kinds["kind"], counts)
	if !known && max(afterTotal, beforeTotal) > 0 {
		total, known = max(afterTotal, beforeTotal), true
	}
	q := engine.Query{
		Filter: s.filter(), Order: &store.Order{Field: sortFields[s.Sort], Desc: s.Desc},
		After: after, Before: before, Limit: s.Limit, CountTotal: !known,
	}
	if s.Q != "" {
		q.FullText = &store.FullText{Term: s.Q, Fields: []string{"metadata.name", "metadata.title", "metadata.description"}}
	}
	page, err := u.p.Catalog.Entities(ctx, q)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if !known {
		total = page.Total
	}

	d := listData{State: s, Rows: page.Items, Total: total}
	d.Kinds = kindTabs(s, kinds["kind"])
	d.Facets = facetViews(s, counts)
	d.Columns = columnsFor(s)
	for _, vals := range s.Selected {
		d.Selected += len(vals)
	}
	base := s.values()
	if d.Selected > 0 || s.Q != "" {
		clear := url.Values{}
		if s.Kind != "" {
			clear.Set("kind", s.Kind)
		}
		d.Clear = listHref(clear)
	}
	for k, vals := range base {
		if k == "q" || isFacetParam(k) {
			continue
		}
		for _, v := range vals {
			d.Hidden = append(d.Hidden, hiddenInput{Name: k, Value: v})
		}
	}
	sort.Slice(d.Hidden, func(i, j int) bool { return d.Hidden[i].Name < d.Hidden[j].Name })
	// Paging: "before" pages come back in forward order; HasMore speaks
	// for the paging direction.
	hasNext, hasPrev := page.HasMore, after != nil
	if before != nil {
		hasNext, hasPrev = true, page.HasMore
	}
	if len(page.Items) > 0 {
		if hasNext {
			v := cloneValues(base)
			v.Set("after", encodeListCursor(page.Last, total))
			d.NextHref = listHref(v)
		}
		if hasPrev {
			v := cloneValues(base)
			v.Set("before", encodeListCursor(page.First, total))
			d.PrevHref = listHref(v)
		}
	}
	title := "Catalog"
	crumbs := []Crumb{}
	section := "catalog"
	if s.Kind != "" {
		title = kindLabel(s.Kind) + "s"
		if strings.EqualFold(s.Kind, "api") {
			title = "APIs"
			section = "apis"
		}
		crumbs = append(crumbs, Crumb{Label: "Catalog", Href: "/catalog"})
	}
	u.page(w, r, "catalog", d, View{Title: title, Section: section, Breadcrumbs: crumbs})
}

func isFacetParam(k string) bool {
	for _, f := range facetDefs {
		if f.Param == k {
			return true
		}
	}
	return false
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

// kindTabs lists "All" and each kind present, built-in kinds first.
func kindTabs(s listState, counts []store.FacetCount) []kindTab {
	total := 0
	byKind := map[string]int{}
	var names []string
	for _, c := range counts {
		k := strings.ToLower(c.Value)
		if _, seen := byKind[k]; !seen {
			names = append(names, k)
		}
		byKind[k] += c.Count
		total += c.Count
	}
	rank := func(k string) int {
		for i, known := range knownKinds {
			if strings.EqualFold(known, k) {
				return i
			}
		}
		return len(knownKinds)
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	tabs := []kindTab{{Label: "All", Count: total, Href: "/catalog", Current: s.Kind == ""}}
	for _, k := range names {
		tabs = append(tabs, kindTab{Kind: k, Label: kindLabel(k), Count: byKind[k], Href: "/catalog?kind=" + url.QueryEscape(k), Current: k == s.Kind})
	}
	return tabs
}

// facetViews shows each facet's most frequent values and every selected
// one; facets with no values are left out.
func facetViews(s listState, counts map[string][]store.FacetCount) []facetView {
	var out []facetView
	for _, f := range facetDefs {
		selected := map[string]bool{}
		for _, v := range s.Selected[f.Param] {
			selected[strings.ToLower(v)] = true
		}
		// The store sorts counts this way already; a facet of a large
		// catalog has thousands of values (owners, systems), so they are
		// neither copied nor sorted again, and the walk stops once the
		// shown values are found.
		vals := counts[f.Key]
		byCount := func(a, b store.FacetCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		}
		if !slices.IsSortedFunc(vals, byCount) {
			vals = slices.Clone(vals)
			slices.SortStableFunc(vals, byCount)
		}
		fv := facetView{Param: f.Param, Label: f.Label}
		seen := map[string]bool{}
		pending := len(selected)
		for i, c := range vals {
			if pending == 0 && len(fv.Values) >= facetShown && len(fv.More) >= maxMoreValues {
				break
			}
			lv := strings.ToLower(c.Value)
			if seen[lv] {
				continue
			}
			seen[lv] = true
			v := facetValue{Value: c.Value, Count: c.Count, Selected: selected[lv], ID: f.Param + "-" + strconv.Itoa(i)}
			if v.Selected {
				pending--
			}
			if len(fv.Values) < facetShown || v.Selected {
				fv.Values = append(fv.Values, v)
			} else if len(fv.More) < maxMoreValues {
				fv.More = append(fv.More, v)
			}
		}
		// A selected value that no longer matches anything still shows, so
		// it can be cleared.
		for i, v := range s.Selected[f.Param] {
			if !seen[strings.ToLower(v)] {
				fv.Values = append(fv.Values, facetValue{Value: v, Selected: true, ID: f.Param + "-x" + strconv.Itoa(i)})
			}
		}
		if len(fv.Values) > 0 {
			out = append(out, fv)
		}
	}
	return out
}

// columnsFor picks the columns that mean something for the kind shown.
func columnsFor(s listState) []column {
	var keys []string
	switch s.Kind {
	case "", "component", "api", "resource":
		keys = []string{"name", "system", "owner", "type", "lifecycle", "description", "tags"}
		if s.Kind == "" {
			keys = []string{"name", "kind", "owner", "type", "lifecycle", "description", "tags"}
		}
	case "system", "domain":
		keys = []string{"name", "owner", "description", "tags"}
	case "group":
		keys = []string{"name", "type", "description"}
	case "user":
		keys = []string{"name", "email", "description"}
	default:
		keys = []string{"name", "type", "owner", "description", "tags"}
	}
	labels := map[string]string{"name": "Name", "kind": "Kind", "system": "System", "owner": "Owner", "type": "Type",
		"lifecycle": "Lifecycle", "description": "Description", "tags": "Tags", "email": "Email"}
	var cols []column
	for _, k := range keys {
		c := column{Key: k, Label: labels[k]}
		if _, ok := sortFields[k]; ok {
			c.Sortable = true
			v := s.values()
			v.Del("sort")
			v.Del("dir")
			if k != "name" {
				v.Set("sort", k)
			}
			if s.Sort == k {
				c.Sort = "ascending"
				if s.Desc {
					c.Sort = "descending"
				} else {
					v.Set("dir", "desc")
				}
			}
			c.Href = listHref(v)
		}
		cols = append(cols, c)
	}
	return cols
}
