package ui

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// suggestion is one entry of a picker's type-ahead.
type suggestion struct {
	Value  string `json:"value"`
	Label  string `json:"label"`
	Detail string `json:"detail,omitempty"`
}

// suggest serves GET /create/templates/{namespace}/{name}/suggest?field=…&q=…:
// suggestions for one picker of the template, read through the caller's
// view of the catalog. The picker's options (catalogFilter, allowedKinds,
// kinds) come from the template, not from the request.
func (p *Pages) suggest(w http.ResponseWriter, r *http.Request) {
	t, _, err := p.template(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	q := r.URL.Query()
	name, text := q.Get("field"), strings.TrimSpace(q.Get("q"))
	if len(text) > p.lim.QueryLength {
		web.WriteError(w, r, errInvalid("q is %d characters long; the limit is %d", len(text), p.lim.QueryLength))
		return
	}
	f := findField(t.Pages, name)
	if f == nil || f.Picker == nil || f.PickerKind() == "" {
		web.WriteError(w, r, fault.New(fault.NotFound, "%s has no picker field %q", t.Ref, name))
		return
	}
	var out []suggestion
	switch f.Widget {
	case wTags:
		out, err = p.suggestTags(r, f, text)
	case wRepoURL:
		out, err = p.suggestRepoOwners(r, text)
	default:
		out, err = p.suggestEntities(r, f, text)
	}
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	if out == nil {
		out = []suggestion{}
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

// findField finds the field an input name belongs to on any page, the
// conditional ones included.
func findField(pages []map[string]any, name string) *Field {
	var walk func(path []string, s map[string]any) *Field
	walk = func(path []string, s map[string]any) *Field {
		for _, pr := range objectProps(s) {
			fp := append(append([]string{}, path...), pr.name)
			if inputName(fp) == name {
				return newField(fp, pr)
			}
			if pr.schema["properties"] != nil {
				if f := walk(fp, pr.schema); f != nil {
					return f
				}
			}
		}
		return nil
	}
	for _, s := range pages {
		if f := walk(nil, s); f != nil {
			return f
		}
	}
	return nil
}

// pickerFilter turns ui:options into a catalog filter: catalogFilter (an
// object of key → value(s), or a list of them, any of which may match;
// {exists: true} asks for the key to be present), else the allowed kinds.
func pickerFilter(pk *Picker) (*catalog.Filter, error) {
	objs := filterObjects(pk.options["catalogFilter"])
	var anyOf []*catalog.Filter
	for _, obj := range objs {
		var all []*catalog.Filter
		for _, key := range sortedKeys(obj) {
			k := strings.ToLower(key)
			switch v := obj[key].(type) {
			case string:
				all = append(all, catalog.In(k, strings.ToLower(v)))
			case []any:
				vals := asStrings(v)
				for i := range vals {
					vals[i] = strings.ToLower(vals[i])
				}
				all = append(all, catalog.In(k, vals...))
			case map[string]any:
				if ex, ok := v["exists"].(bool); ok {
					if ex {
						all = append(all, catalog.Exists(k))
					} else {
						all = append(all, catalog.Not(catalog.Exists(k)))
					}
					continue
				}
				return nil, fmt.Errorf("ui:options.catalogFilter.%s: want a value, a list of values or {exists: true|false}", key)
			default:
				return nil, fmt.Errorf("ui:options.catalogFilter.%s: want a value, a list of values or {exists: true|false}", key)
			}
		}
		if len(all) > 0 {
			anyOf = append(anyOf, catalog.All(all...))
		}
	}
	kinds := pickerKinds(pk)
	if len(anyOf) == 0 {
		if len(kinds) == 0 {
			return nil, nil
		}
		lower := make([]string, len(kinds))
		for i, k := range kinds {
			lower[i] = strings.ToLower(k)
		}
		return catalog.In("kind", lower...), nil
	}
	if len(anyOf) == 1 {
		return anyOf[0], nil
	}
	return catalog.Any(anyOf...), nil
}

func (p *Pages) suggestEntities(r *http.Request, f *Field, text string) ([]suggestion, error) {
	filter, err := pickerFilter(f.Picker)
	if err != nil {
		return nil, fault.New(fault.Invalid, "%s: %v", f.Label(), err)
	}
	q := engine.Query{Filter: filter, Limit: p.lim.Suggestions, Order: &store.Order{Field: "metadata.name"}}
	if text != "" {
		q.FullText = &store.FullText{Term: text, Fields: []string{"metadata.name", "metadata.title"}}
	}
	page, err := p.cat.Entities(r.Context(), q)
	if err != nil {
		return nil, err
	}
	var out []suggestion
	for _, e := range page.Items {
		ref := e.Ref()
		s := suggestion{Value: strings.ToLower(ref.Kind) + ":" + ref.Namespace + "/" + ref.Name, Label: e.Metadata.Name}
		if e.Metadata.Title != "" {
			s.Label = e.Metadata.Title
		}
		s.Detail = ref.Kind
		if e.Metadata.Description != "" {
			s.Detail += " · " + truncate(e.Metadata.Description, 80)
		}
		out = append(out, s)
	}
	return out, nil
}

// suggestRepoOwners offers the names of groups and users as repository
// owners: the embedded git host keeps repositories under the owner's name,
// as the demo templates publish them.
func (p *Pages) suggestRepoOwners(r *http.Request, text string) ([]suggestion, error) {
	q := engine.Query{Filter: catalog.In("kind", "group", "user"), Limit: p.lim.Suggestions, Order: &store.Order{Field: "metadata.name"}}
	if text != "" {
		q.FullText = &store.FullText{Term: text, Fields: []string{"metadata.name", "metadata.title"}}
	}
	page, err := p.cat.Entities(r.Context(), q)
	if err != nil {
		return nil, err
	}
	var out []suggestion
	for _, e := range page.Items {
		s := suggestion{Value: e.Metadata.Name, Label: e.Metadata.Name, Detail: e.Kind}
		if e.Metadata.Title != "" {
			s.Detail += " · " + e.Metadata.Title
		}
		out = append(out, s)
	}
	return out, nil
}

// suggestTags lists the catalog's tags (of ui:options.kinds when given)
// containing the text, most used first.
func (p *Pages) suggestTags(r *http.Request, f *Field, text string) ([]suggestion, error) {
	var filter *catalog.Filter
	if kinds := asStrings(f.Picker.options["kinds"]); len(kinds) > 0 {
		for i := range kinds {
			kinds[i] = strings.ToLower(kinds[i])
		}
		filter = catalog.In("kind", kinds...)
	}
	facets, err := p.cat.Facets(r.Context(), []string{"metadata.tags"}, filter)
	if err != nil {
		return nil, err
	}
	counts := facets["metadata.tags"]
	sort.SliceStable(counts, func(i, j int) bool {
		if counts[i].Count != counts[j].Count {
			return counts[i].Count > counts[j].Count
		}
		return counts[i].Value < counts[j].Value
	})
	var out []suggestion
	needle := strings.ToLower(text)
	for _, c := range counts {
		if needle != "" && !strings.Contains(strings.ToLower(c.Value), needle) {
			continue
		}
		out = append(out, suggestion{Value: c.Value, Label: c.Value, Detail: fmt.Sprintf("%d %s", c.Count, plural(c.Count, "entity", "entities"))})
		if len(out) == p.lim.Suggestions {
			break
		}
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
