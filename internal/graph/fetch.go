package graph

import (
	"context"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
)

// Node is an entity in a graph.
type Node struct {
	// Ref is the canonical reference (kind:namespace/name, lowercase).
	Ref       string
	Kind      string
	Namespace string
	Name      string
	Title     string
	// Level is the distance from the root in relation hops.
	Level int
	// Missing marks a reference whose entity is not in the catalog.
	Missing bool
	// More is set on the one summary node that stands for More entities
	// left out by MaxNodes.
	More int
}

// Edge is a relation between two nodes, drawn From → To.
type Edge struct {
	From, To int
	Type     string
}

// Graph is a fetched neighbourhood; Nodes[0] is the root.
type Graph struct {
	Nodes []Node
	Edges []Edge
}

// inverse pairs each relation type with its other direction.
var inverse = map[string]string{
	catalog.RelationOwnedBy: catalog.RelationOwnerOf, catalog.RelationOwnerOf: catalog.RelationOwnedBy,
	catalog.RelationPartOf: catalog.RelationHasPart, catalog.RelationHasPart: catalog.RelationPartOf,
	catalog.RelationProvidesAPI: catalog.RelationAPIProvidedBy, catalog.RelationAPIProvidedBy: catalog.RelationProvidesAPI,
	catalog.RelationConsumesAPI: catalog.RelationAPIConsumedBy, catalog.RelationAPIConsumedBy: catalog.RelationConsumesAPI,
	catalog.RelationDependsOn: catalog.RelationDependencyOf, catalog.RelationDependencyOf: catalog.RelationDependsOn,
	catalog.RelationMemberOf: catalog.RelationHasMember, catalog.RelationHasMember: catalog.RelationMemberOf,
	catalog.RelationChildOf: catalog.RelationParentOf, catalog.RelationParentOf: catalog.RelationChildOf,
}

// forward marks the direction of each pair that a graph draws.
var forward = map[string]bool{
	catalog.RelationOwnedBy: true, catalog.RelationPartOf: true, catalog.RelationProvidesAPI: true,
	catalog.RelationConsumesAPI: true, catalog.RelationDependsOn: true, catalog.RelationMemberOf: true,
	catalog.RelationChildOf: true,
}

// RelationTypes returns the relation types a graph draws, in the order a
// form should offer them; each stands for both directions of its pair.
func RelationTypes() []string {
	return []string{
		catalog.RelationOwnedBy, catalog.RelationPartOf, catalog.RelationProvidesAPI,
		catalog.RelationConsumesAPI, catalog.RelationDependsOn, catalog.RelationMemberOf,
		catalog.RelationChildOf,
	}
}

// typeFilter reports whether a relation type is followed.
func typeFilter(types []string) func(string) bool {
	if len(types) == 0 {
		return func(string) bool { return true }
	}
	set := map[string]bool{}
	for _, t := range types {
		set[strings.ToLower(t)] = true
		if inv, ok := inverse[t]; ok {
			set[strings.ToLower(inv)] = true
		}
	}
	return func(t string) bool { return set[strings.ToLower(t)] }
}

// Fetch reads the neighbourhood of root, one EntitiesByRefs call per level,
// stopping at MaxNodes.
func Fetch(ctx context.Context, cat engine.Catalog, root string, opts Options) (*Graph, error) {
	r, err := catalog.ParseRef(root, catalog.RefDefaults{})
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, err, "graph root %q is not an entity reference", root)
	}
	got, err := cat.EntitiesByRefs(ctx, []string{r.String()}, nil)
	if err != nil {
		return nil, err
	}
	if len(got) == 0 || got[0] == nil {
		return nil, fault.New(fault.NotFound, "no entity %s", r.String())
	}
	follow := typeFilter(opts.Types)
	depth := clampDepth(opts.Depth)

	g := &Graph{}
	index := map[string]int{}
	entities := map[string]*catalog.Entity{}
	add := func(ref string, e *catalog.Entity, level int) {
		n := Node{Ref: ref, Level: level, Missing: e == nil}
		if e != nil {
			er := e.Ref()
			n.Kind, n.Namespace, n.Name, n.Title = e.Kind, er.Namespace, e.Metadata.Name, e.Metadata.Title
			entities[ref] = e
		} else if pr, err := catalog.ParseRef(ref, catalog.RefDefaults{}); err == nil {
			n.Kind, n.Namespace, n.Name = pr.Kind, pr.Namespace, pr.Name
		}
		index[ref] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
	}
	add(r.String(), got[0], 0)

	frontier := []string{r.String()}
	more := 0
	for level := 1; level <= depth && len(frontier) > 0; level++ {
		next := map[string]bool{}
		for _, ref := range frontier {
			e := entities[ref]
			if e == nil {
				continue
			}
			for _, rel := range e.Relations {
				t := canonRef(rel.TargetRef)
				if t == "" || !follow(rel.Type) {
					continue
				}
				if _, seen := index[t]; !seen {
					next[t] = true
				}
			}
		}
		refs := make([]string, 0, len(next))
		for t := range next {
			refs = append(refs, t)
		}
		sort.Strings(refs)
		if room := MaxNodes - len(g.Nodes); len(refs) > room {
			more += len(refs) - room
			refs = refs[:room]
		}
		if len(refs) == 0 {
			break
		}
		ents, err := cat.EntitiesByRefs(ctx, refs, nil)
		if err != nil {
			return nil, err
		}
		for i, ref := range refs {
			var e *catalog.Entity
			if i < len(ents) {
				e = ents[i]
			}
			add(ref, e, level)
		}
		frontier = refs
		if more > 0 {
			break
		}
	}

	type key struct {
		from, to int
		typ      string
	}
	seen := map[key]bool{}
	for _, n := range g.Nodes {
		e := entities[n.Ref]
		if e == nil {
			continue
		}
		from := index[n.Ref]
		for _, rel := range e.Relations {
			if !follow(rel.Type) {
				continue
			}
			to, ok := index[canonRef(rel.TargetRef)]
			if !ok || to == from {
				continue
			}
			k := key{from, to, rel.Type}
			if inv, ok := inverse[rel.Type]; ok && !forward[rel.Type] {
				k = key{to, from, inv}
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			g.Edges = append(g.Edges, Edge{From: k.from, To: k.to, Type: k.typ})
		}
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Type < b.Type
	})
	if more > 0 {
		last := g.Nodes[len(g.Nodes)-1].Level
		g.Nodes = append(g.Nodes, Node{Ref: "+more", Level: last, More: more})
	}
	return g, nil
}

// canonRef returns the canonical form of a relation target, or "".
func canonRef(s string) string {
	r, err := catalog.ParseRef(s, catalog.RefDefaults{})
	if err != nil {
		return ""
	}
	return r.String()
}
