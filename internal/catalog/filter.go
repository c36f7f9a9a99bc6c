package catalog

// Filter is a parsed entity filter: a tree of logical nodes over leaf
// matchers. A nil *Filter matches every entity. Both Backstage syntaxes (the
// `filter` query parameter and the POST by-query predicate) parse into it;
// the store turns it into SQL.
//
// Keys are lowercased dot paths into the entity ("kind", "metadata.name",
// "spec.type", "metadata.tags", "metadata.annotations.backstage.io/orphan").
// Keys starting with "relations." name a relation type, lowercased
// ("relations.ownedby"), and match the entity's outgoing relations by
// target ref. Values are lowercased: matching is case-insensitive.
type Filter struct {
	Op       FilterOp
	Children []*Filter // for All, Any, Not (exactly one child)
	Key      string    // for Match
	Match    MatchKind // for Match
	Values   []string  // for MatchIn (any of them) and MatchPrefix (exactly one)
}

// FilterOp is the kind of a Filter node.
type FilterOp int

// The filter nodes.
const (
	OpMatch FilterOp = iota // a leaf: Key Match Values
	OpAll                   // every child matches (no children: matches all)
	OpAny                   // some child matches (no children: matches none)
	OpNot                   // the only child does not match
)

// MatchKind is how a leaf compares.
type MatchKind int

// The leaf matchers.
const (
	MatchExists MatchKind = iota // the key has some value
	MatchIn                      // the key has one of Values (empty Values: matches nothing)
	MatchPrefix                  // the key has a value starting with Values[0]
)

// All returns a node that matches when every child does.
func All(children ...*Filter) *Filter { return &Filter{Op: OpAll, Children: children} }

// Any returns a node that matches when some child does.
func Any(children ...*Filter) *Filter { return &Filter{Op: OpAny, Children: children} }

// Not returns a node that matches when f does not.
func Not(f *Filter) *Filter { return &Filter{Op: OpNot, Children: []*Filter{f}} }

// Exists returns a leaf that matches entities having key.
func Exists(key string) *Filter { return &Filter{Op: OpMatch, Key: key, Match: MatchExists} }

// In returns a leaf that matches entities whose key has one of values.
func In(key string, values ...string) *Filter {
	return &Filter{Op: OpMatch, Key: key, Match: MatchIn, Values: values}
}

// Prefix returns a leaf that matches entities whose key starts with prefix.
func Prefix(key, prefix string) *Filter {
	return &Filter{Op: OpMatch, Key: key, Match: MatchPrefix, Values: []string{prefix}}
}
