package catalog

import (
	"fmt"
	"strings"
)

// DefaultNamespace is the namespace of entities that name none.
const DefaultNamespace = "default"

// Ref identifies an entity: kind, namespace and name. Identity is
// case-insensitive; String gives the canonical, lowercased form.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String returns the canonical form kind:namespace/name, all lowercase.
func (r Ref) String() string {
	ns := r.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return strings.ToLower(r.Kind) + ":" + strings.ToLower(ns) + "/" + strings.ToLower(r.Name)
}

// Equal reports whether r and o name the same entity.
func (r Ref) Equal(o Ref) bool { return r.String() == o.String() }

// RefDefaults fill in the parts a reference string leaves out.
type RefDefaults struct {
	Kind      string // empty: the kind is required
	Namespace string // empty: DefaultNamespace
}

// ParseRef parses [kind:][namespace/]name, filling missing parts from d.
// It follows Backstage's algorithm: a colon after the first slash is part of
// the name, and any part that is present must not be empty.
func ParseRef(s string, d RefDefaults) (Ref, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Ref{}, fmt.Errorf("entity reference must not be empty")
	}
	c := strings.IndexByte(s, ':')
	sl := strings.IndexByte(s, '/')
	if c >= 0 && sl >= 0 && sl < c {
		c = -1
	}
	var r Ref
	rest := s
	if c >= 0 {
		r.Kind = rest[:c]
		rest = rest[c+1:]
		if r.Kind == "" {
			return Ref{}, fmt.Errorf("entity reference %q has an empty kind", s)
		}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		r.Namespace = rest[:i]
		rest = rest[i+1:]
		if r.Namespace == "" {
			return Ref{}, fmt.Errorf("entity reference %q has an empty namespace", s)
		}
	}
	r.Name = rest
	if r.Name == "" {
		return Ref{}, fmt.Errorf("entity reference %q has an empty name", s)
	}
	if strings.ContainsAny(r.Name, "/") {
		return Ref{}, fmt.Errorf("entity reference %q has more than one '/'", s)
	}
	if r.Kind == "" {
		if d.Kind == "" {
			return Ref{}, fmt.Errorf("entity reference %q has no kind and none is implied", s)
		}
		r.Kind = d.Kind
	}
	if r.Namespace == "" {
		r.Namespace = d.Namespace
		if r.Namespace == "" {
			r.Namespace = DefaultNamespace
		}
	}
	return r, nil
}

// MustParseRef is ParseRef for references known to be valid, such as literals in tests.
func MustParseRef(s string) Ref {
	r, err := ParseRef(s, RefDefaults{})
	if err != nil {
		panic(err)
	}
	return r
}
