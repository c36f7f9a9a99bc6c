package authz

import (
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/traits"
	"github.com/atrium-portal/atrium/internal/catalog"
)

// nodeOp is the kind of a condNode.
type nodeOp int

const (
	nodeConst nodeOp = iota // a boolean over principal only
	nodeLeaf                // a test of one resource attribute
	nodeAnd
	nodeOr
	nodeNot
)

// condNode is a compiled condition: a tree whose leaves test one resource
// attribute against values computed from the principal, and whose constant
// parts are CEL programs over the principal.
type condNode struct {
	op   nodeOp
	kids []*condNode
	prog cel.Program // nodeConst

	// nodeLeaf: the catalog filter key, the matcher, and the values.
	key   string
	match catalog.MatchKind
	val   *valueSource
	// keyFromValue makes the leaf test that key+"."+value exists
	// ("team" in resource.labels).
	keyFromValue bool
}

// valueSource is the value side of a leaf: literal strings, or a program
// over the principal giving a string (or, isList, a list of strings).
type valueSource struct {
	literal []string
	prog    cel.Program
	isList  bool
}

// strings evaluates the value side; ok is false when evaluation fails or
// gives something other than strings.
func (v *valueSource) strings(act map[string]any) (_ []string, ok bool) {
	if v == nil {
		return nil, true
	}
	if v.prog == nil {
		return v.literal, true
	}
	out, _, err := v.prog.Eval(act)
	if err != nil {
		return nil, false
	}
	if !v.isList {
		s, ok := out.Value().(string)
		return []string{s}, ok
	}
	list, isList := out.(traits.Lister)
	if !isList {
		return nil, false
	}
	it := list.Iterator()
	var res []string
	for it.HasNext() == types.True {
		s, ok := it.Next().Value().(string)
		if !ok {
			return nil, false
		}
		res = append(res, s)
	}
	return res, true
}

// filters returns where n is true and where n is false, as catalog
// filters. Like CEL, a part that fails to evaluate (a missing claim) is
// neither true nor false; whole conditions only apply where they are true.
func (n *condNode) filters(act map[string]any) (t, f *catalog.Filter) {
	switch n.op {
	case nodeConst:
		out, _, err := n.prog.Eval(act)
		if err != nil {
			return none(), none()
		}
		b, ok := out.Value().(bool)
		switch {
		case !ok:
			return none(), none()
		case b:
			return all(), none()
		default:
			return none(), all()
		}
	case nodeLeaf:
		vals, ok := n.val.strings(act)
		if !ok {
			return none(), none()
		}
		t = n.leaf(vals)
		return t, not(t)
	case nodeNot:
		t, f = n.kids[0].filters(act)
		return f, t
	case nodeAnd, nodeOr:
		ts := make([]*catalog.Filter, len(n.kids))
		fs := make([]*catalog.Filter, len(n.kids))
		for i, k := range n.kids {
			ts[i], fs[i] = k.filters(act)
		}
		if n.op == nodeAnd {
			return and(ts...), or(fs...)
		}
		return or(ts...), and(fs...)
	}
	return none(), none()
}

func (n *condNode) leaf(vals []string) *catalog.Filter {
	switch n.match {
	case catalog.MatchExists:
		if !n.keyFromValue {
			return catalog.Exists(n.key)
		}
		if len(vals) != 1 || vals[0] == "" {
			return none()
		}
		return catalog.Exists(n.key + "." + strings.ToLower(vals[0]))
	case catalog.MatchPrefix:
		if len(vals) != 1 {
			return none()
		}
		return catalog.Prefix(n.key, strings.ToLower(vals[0]))
	}
	if len(vals) == 0 {
		return none()
	}
	low := make([]string, len(vals))
	for i, v := range vals {
		low[i] = strings.ToLower(v)
	}
	return catalog.In(n.key, low...)
}

// usesResource reports whether the condition depends on the resource.
func (n *condNode) usesResource() bool {
	if n == nil || n.op == nodeConst {
		return false
	}
	return true
}

// all and none are the constant filters.
func all() *catalog.Filter  { return catalog.All() }
func none() *catalog.Filter { return catalog.Any() }

func isAll(f *catalog.Filter) bool  { return f.Op == catalog.OpAll && len(f.Children) == 0 }
func isNone(f *catalog.Filter) bool { return f.Op == catalog.OpAny && len(f.Children) == 0 }

// and returns the conjunction of fs, simplified.
func and(fs ...*catalog.Filter) *catalog.Filter {
	var kids []*catalog.Filter
	for _, f := range fs {
		switch {
		case isNone(f):
			return none()
		case isAll(f):
		case f.Op == catalog.OpAll:
			kids = append(kids, f.Children...)
		default:
			kids = append(kids, f)
		}
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return catalog.All(kids...)
}

// or returns the disjunction of fs, simplified.
func or(fs ...*catalog.Filter) *catalog.Filter {
	var kids []*catalog.Filter
	for _, f := range fs {
		switch {
		case isAll(f):
			return all()
		case isNone(f):
		case f.Op == catalog.OpAny:
			kids = append(kids, f.Children...)
		default:
			kids = append(kids, f)
		}
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return catalog.Any(kids...)
}

// not returns the negation of f, simplified.
func not(f *catalog.Filter) *catalog.Filter {
	switch {
	case isAll(f):
		return none()
	case isNone(f):
		return all()
	case f.Op == catalog.OpNot:
		return f.Children[0]
	}
	return catalog.Not(f)
}
