package ui

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/graph"
)

// TechDocsAnnotation points an entity at its documentation source.
const TechDocsAnnotation = "backstage.io/techdocs-ref"

// relGroup is the entities at the end of one relation type.
type relGroup struct {
	Type    string
	Label   string
	Items   []relItem
	Hidden  int
	MoreURL string
}

// relItem is one related entity; Entity is nil when the target is not in
// the catalog (a dangling reference).
type relItem struct {
	Ref    string
	Entity *catalog.Entity
}

type entityData struct {
	E           *catalog.Entity
	Ref         string
	Href        string
	Tab         string
	Errors      []catalog.StatusItem
	Owner       string
	System      string
	Domain      string
	Links       []linkView
	Annotations []kv
	Labels      []kv
	Outgoing    []relGroup
	Incoming    []relGroup
	Groups      []relGroup // Group and User pages: membership and hierarchy
	Owned       []relGroup // Group and User pages: owned entities by kind
	Graph       template.HTML
	GraphErr    string
	GraphForm   graphForm
	PluginCards []cardView // plugins' entity cards (plugincard.go)
	DocsHref    string
	IsAPI       bool
	Definition  template.HTML
	RawDef      string
	APIType     string
	YAML        string
	Source      string
}

type kv struct{ Key, Value string }

// linkView is a metadata link; Href is empty when the URL is not safe to
// follow (javascript:, data:), and the page shows it as text.
type linkView struct {
	Title string
	Href  string
	Raw   string
}

// graphForm is the state of the relation graph's controls.
type graphForm struct {
	Depth    int
	Depths   []int
	Types    []graphType
	Action   string
	Selected []string
	// FullHref opens the same graph (depth and relation types) on its own page.
	FullHref string
}

type graphType struct {
	Type    string
	Checked bool
}

// Relation types grouped for the entity page: what it depends on, what
// depends on it; ownership, membership and hierarchy show elsewhere.
var (
	outgoingTypes = []string{"dependsOn", "consumesApi", "providesApi", "hasPart"}
	incomingTypes = []string{"dependencyOf", "apiConsumedBy", "apiProvidedBy", "partOf"}
	relLabels     = map[string]string{
		"dependsOn": "Depends on", "consumesApi": "Consumes APIs", "providesApi": "Provides APIs", "hasPart": "Has parts",
		"dependencyOf": "Dependency of", "apiConsumedBy": "Consumed by", "apiProvidedBy": "Provided by", "partOf": "Part of",
		"memberOf": "Member of", "hasMember": "Members", "childOf": "Parent", "parentOf": "Children", "ownerOf": "Owns",
	}
	graphTypes = []string{"ownedBy", "dependsOn", "consumesApi", "providesApi", "partOf", "memberOf", "childOf"}
)

// entityRef reads the entity ref of /catalog/{namespace}/{kind}/{name}.
func entityRef(r *http.Request) string {
	return catalog.Ref{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}.String()
}

// entity is an entity's page; Groups and Users get their own sections.
func (u *UI) entity(w http.ResponseWriter, r *http.Request) {
	u.entityPage(w, r, r.URL.Query().Get("tab"))
}

// entityYAML is the raw view of the entity as stored.
func (u *UI) entityYAML(w http.ResponseWriter, r *http.Request) {
	u.entityPage(w, r, "yaml")
}

func (u *UI) entityPage(w http.ResponseWriter, r *http.Request, tab string) {
	ctx := r.Context()
	ref := entityRef(r)
	e, err := u.p.Catalog.EntityByRef(ctx, ref)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			u.notFound(w, r, "There is no "+r.PathValue("kind")+" named "+r.PathValue("name")+" in namespace "+r.PathValue("namespace")+".")
			return
		}
		u.fail(w, r, err)
		return
	}
	switch tab {
	case "", "overview", "api", "yaml":
	default:
		u.fail(w, r, fault.New(fault.Invalid, "there is no %q tab; the tabs are overview, api and yaml", tab))
		return
	}
	if tab == "" {
		tab = "overview"
	}
	d := entityData{E: e, Ref: ref, Href: entityHref(e), Tab: tab, IsAPI: strings.EqualFold(e.Kind, "API")}
	if e.Status != nil {
		for _, it := range e.Status.Items {
			if it.Level == "error" || it.Level == "" {
				d.Errors = append(d.Errors, it)
			}
		}
	}
	d.Owner = relTarget(e, "ownedBy", "")
	d.System = relTarget(e, "partOf", "system")
	d.Domain = relTarget(e, "partOf", "domain")
	for _, l := range e.Metadata.Links {
		title := l.Title
		if title == "" {
			title = l.URL
		}
		d.Links = append(d.Links, linkView{Title: title, Href: safeURL(l.URL), Raw: l.URL})
	}
	d.Annotations = sortedKV(e.Metadata.Annotations)
	d.Labels = sortedKV(e.Metadata.Labels)
	if src := e.Metadata.Annotations[catalog.AnnotationSourceLocation]; src != "" {
		d.Source = strings.TrimPrefix(strings.TrimPrefix(src, "url:"), "file:")
	}
	if e.Metadata.Annotations[TechDocsAnnotation] != "" {
		d.DocsHref = "/docs/" + url.PathEscape(strings.ToLower(e.Ref().Namespace)) + "/" +
			url.PathEscape(strings.ToLower(e.Kind)) + "/" + url.PathEscape(e.Metadata.Name) + "/"
	}
	if d.IsAPI {
		d.APIType = specString(e, "type")
		d.RawDef = specString(e, "definition")
	}

	switch tab {
	case "overview":
		if err := u.entityOverview(ctx, r, &d); err != nil {
			u.fail(w, r, err)
			return
		}
		d.PluginCards = u.entityPluginCards(ctx, e)
	case "api":
		if !d.IsAPI {
			u.notFound(w, r, "Only API entities have a definition tab.")
			return
		}
		d.Definition = u.renderDefinition(ctx, d.APIType, d.RawDef)
	case "yaml":
		y, err := entityYAMLText(e)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.YAML = y
	}
	crumbs := []Crumb{{Label: "Catalog", Href: "/catalog"}, {Label: kindLabel(e.Kind) + "s", Href: "/catalog?kind=" + url.QueryEscape(strings.ToLower(e.Kind))}}
	section := "catalog"
	if d.IsAPI {
		section = "apis"
		crumbs[1].Label = "APIs"
	}
	u.page(w, r, "entity", d, View{Title: entityTitle(e), Section: section, Breadcrumbs: crumbs})
}

// entityOverview fills the relations and the graph.
func (u *UI) entityOverview(ctx context.Context, r *http.Request, d *entityData) error {
	e := d.E
	kind := strings.ToLower(e.Kind)
	var want []string
	switch kind {
	case "group":
		want = []string{"childOf", "parentOf", "hasMember"}
	case "user":
		want = []string{"memberOf"}
	}
	var err error
	if d.Outgoing, err = u.relGroups(ctx, e, outgoingTypes); err != nil {
		return err
	}
	if d.Incoming, err = u.relGroups(ctx, e, incomingTypes); err != nil {
		return err
	}
	if len(want) > 0 {
		if d.Groups, err = u.relGroups(ctx, e, want); err != nil {
			return err
		}
	}
	if kind == "group" || kind == "user" {
		if d.Owned, err = u.ownedByKind(ctx, e); err != nil {
			return err
		}
	}

	// The graph: groups and users default to their membership graph.
	q := r.URL.Query()
	gf := graphForm{Depth: 1, Depths: []int{1, 2, 3}, Action: d.Href}
	if n, err := strconv.Atoi(q.Get("depth")); err == nil {
		gf.Depth = min(max(n, 1), 3)
	}
	selected := nonEmpty(q["rel"])
	if len(selected) == 0 && (kind == "group" || kind == "user") {
		selected = []string{"memberOf", "childOf"}
	}
	sel := map[string]bool{}
	for _, s := range selected {
		sel[strings.ToLower(s)] = true
	}
	for _, t := range graphTypes {
		gf.Types = append(gf.Types, graphType{Type: t, Checked: sel[strings.ToLower(t)]})
	}
	var types []string
	for _, t := range graphTypes {
		if sel[strings.ToLower(t)] {
			types = append(types, t)
		}
	}
	full := url.Values{"depth": {strconv.Itoa(gf.Depth)}}
	if len(types) > 0 {
		full["rel"] = types
	}
	if (kind == "group" || kind == "user") && len(types) > 0 {
		// A membership graph follows both directions of each pair.
		types = expandPairs(types)
	}
	gf.Selected = types
	gf.FullHref = d.Href + "/graph?" + full.Encode()
	d.GraphForm = gf
	svg, err := graph.Render(ctx, u.p.Catalog, d.Ref, graph.Options{Depth: gf.Depth, Types: types})
	if err != nil {
		u.log.WarnContext(ctx, "drawing the relation graph", "ref", d.Ref, "error", err.Error())
		d.GraphErr = "The relation graph could not be drawn."
	} else {
		d.Graph = svg
	}
	return nil
}

// expandPairs adds the reverse type of each relation pair.
func expandPairs(types []string) []string {
	pairs := map[string]string{"memberOf": "hasMember", "childOf": "parentOf", "ownedBy": "ownerOf",
		"dependsOn": "dependencyOf", "consumesApi": "apiConsumedBy", "providesApi": "apiProvidedBy", "partOf": "hasPart"}
	out := append([]string(nil), types...)
	for _, t := range types {
		if r, ok := pairs[t]; ok {
			out = append(out, r)
		}
	}
	return out
}

// relGroups resolves the targets of the given relation types, at most
// Limits.RelationsShown per type, in one catalog query.
func (u *UI) relGroups(ctx context.Context, e *catalog.Entity, types []string) ([]relGroup, error) {
	byType := map[string][]string{}
	for _, rel := range e.Relations {
		for _, t := range types {
			if strings.EqualFold(rel.Type, t) {
				byType[t] = append(byType[t], rel.TargetRef)
			}
		}
	}
	var refs []string
	var groups []relGroup
	for _, t := range types {
		targets := byType[t]
		if len(targets) == 0 {
			continue
		}
		sort.Strings(targets)
		g := relGroup{Type: t, Label: relLabels[t]}
		if len(targets) > u.p.Limits.RelationsShown {
			g.Hidden = len(targets) - u.p.Limits.RelationsShown
			targets = targets[:u.p.Limits.RelationsShown]
		}
		for _, ref := range targets {
			g.Items = append(g.Items, relItem{Ref: ref})
		}
		refs = append(refs, targets...)
		groups = append(groups, g)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	ents, err := u.p.Catalog.EntitiesByRefs(ctx, refs, nil)
	if err != nil {
		return nil, err
	}
	found := map[string]*catalog.Entity{}
	for i, ent := range ents {
		if ent != nil && i < len(refs) {
			found[refs[i]] = ent
		}
	}
	for gi := range groups {
		for ii := range groups[gi].Items {
			groups[gi].Items[ii].Entity = found[groups[gi].Items[ii].Ref]
		}
	}
	return groups, nil
}

// ownedByKind lists what the entity owns, grouped by kind, each group
// capped with a link to the full list in the catalog.
func (u *UI) ownedByKind(ctx context.Context, e *catalog.Entity) ([]relGroup, error) {
	byKind := map[string][]string{}
	for _, rel := range e.Relations {
		if strings.EqualFold(rel.Type, "ownerOf") {
			k := refKind(rel.TargetRef)
			byKind[k] = append(byKind[k], rel.TargetRef)
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	owner := strings.ToLower(e.Ref().String())
	var out []relGroup
	var refs []string
	for _, k := range kinds {
		targets := byKind[k]
		sort.Strings(targets)
		g := relGroup{Type: k, Label: kindLabel(k) + "s"}
		if len(targets) > u.p.Limits.RelationsShown {
			g.Hidden = len(targets) - u.p.Limits.RelationsShown
			targets = targets[:u.p.Limits.RelationsShown]
		}
		g.MoreURL = "/catalog?" + url.Values{"kind": {k}, "ownedby": {owner}}.Encode()
		for _, t := range targets {
			g.Items = append(g.Items, relItem{Ref: t})
		}
		refs = append(refs, targets...)
		out = append(out, g)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	ents, err := u.p.Catalog.EntitiesByRefs(ctx, refs, nil)
	if err != nil {
		return nil, err
	}
	i := 0
	for gi := range out {
		for ii := range out[gi].Items {
			if i < len(ents) {
				out[gi].Items[ii].Entity = ents[i]
			}
			i++
		}
	}
	return out, nil
}

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
