package authz

import (
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// entityIndex is an entity as catalog filters see it: its search rows and
// its outgoing relations, lowercased, the same data the store's SQL reads.
type entityIndex struct {
	rows map[string][]string
	rels map[string][]string
}

func indexEntity(e *catalog.Entity) *entityIndex {
	x := &entityIndex{rows: map[string][]string{}, rels: map[string][]string{}}
	for _, r := range catalog.SearchRows(e) {
		x.rows[r.Key] = append(x.rows[r.Key], r.Value)
	}
	for _, r := range e.Relations {
		t := strings.ToLower(r.Type)
		x.rels[t] = append(x.rels[t], strings.ToLower(r.TargetRef))
	}
	return x
}

// match reports whether the entity matches f, with the store's semantics:
// keys and values compare lowercased; a leaf matches when some value of
// its key does.
func (x *entityIndex) match(f *catalog.Filter) bool {
	if f == nil {
		return true
	}
	switch f.Op {
	case catalog.OpAll:
		for _, c := range f.Children {
			if !x.match(c) {
				return false
			}
		}
		return true
	case catalog.OpAny:
		for _, c := range f.Children {
			if x.match(c) {
				return true
			}
		}
		return false
	case catalog.OpNot:
		return len(f.Children) == 1 && !x.match(f.Children[0])
	}
	key := strings.ToLower(strings.TrimSpace(f.Key))
	var vals []string
	var present bool
	if typ, ok := strings.CutPrefix(key, "relations."); ok {
		vals, present = x.rels[typ]
	} else {
		vals, present = x.rows[key]
	}
	switch f.Match {
	case catalog.MatchExists:
		return present
	case catalog.MatchPrefix:
		if len(f.Values) != 1 {
			return false
		}
		p := strings.ToLower(f.Values[0])
		for _, v := range vals {
			if strings.HasPrefix(v, p) {
				return true
			}
		}
	case catalog.MatchIn:
		for _, want := range f.Values {
			w := strings.ToLower(want)
			for _, v := range vals {
				if v == w {
					return true
				}
			}
		}
	}
	return false
}

// withRelations returns e with its outgoing relations computed from its
// spec when it has none, as for entities that a dry run produced and that
// were never stitched.
func withRelations(e *catalog.Entity) *catalog.Entity {
	if len(e.Relations) > 0 {
		return e
	}
	rows, _ := catalog.Relations(e)
	self := e.Ref().String()
	c := *e
	for _, r := range rows {
		if r.Source == self {
			c.Relations = append(c.Relations, catalog.Relation{Type: r.Type, TargetRef: r.Target})
		}
	}
	return &c
}
