package catalog

import (
	"fmt"
	"path"
	"strings"
)

// Rule allows kinds of entities, optionally only from some origin
// locations (backstage.md §3.5, `catalog.rules`).
type Rule struct {
	// Allow lists the kinds the rule allows, compared case-insensitively.
	Allow []string
	// Locations, when not empty, limits the rule to entities whose origin
	// location matches one of them.
	Locations []RuleLocation
}

// RuleLocation matches origin locations of one type, by exact target, by
// glob pattern, or (neither set) any target.
type RuleLocation struct {
	Type    string
	Exact   string
	Pattern string // a glob: "*" and "?" within a path segment, "**" across segments
}

// Rules is an allow-list: an entity is allowed when some rule allows it. An
// empty list allows nothing; DefaultRules is what applies when none are
// configured.
type Rules []Rule

// DefaultRules returns Backstage's default: Component, API and Location
// entities from anywhere.
func DefaultRules() Rules {
	return Rules{{Allow: []string{"Component", "API", "Location"}}}
}

// NewRules checks rules as configured and returns them: every rule must
// allow at least one kind, and every location matcher needs a type and at
// most one of exact and pattern.
func NewRules(rules []Rule) (Rules, error) {
	for i, r := range rules {
		if len(r.Allow) == 0 {
			return nil, fmt.Errorf("rules[%d].allow must list at least one kind", i)
		}
		for j, k := range r.Allow {
			if !IsValidKind(strings.TrimSpace(k)) {
				return nil, fmt.Errorf("rules[%d].allow[%d]: %q is not a valid kind", i, j, k)
			}
		}
		for j, l := range r.Locations {
			switch {
			case strings.TrimSpace(l.Type) == "":
				return nil, fmt.Errorf("rules[%d].locations[%d].type is required", i, j)
			case l.Exact != "" && l.Pattern != "":
				return nil, fmt.Errorf("rules[%d].locations[%d] sets both exact and pattern; use one", i, j)
			case l.Pattern != "":
				if _, err := path.Match(strings.ReplaceAll(l.Pattern, "**", "*"), ""); err != nil {
					return nil, fmt.Errorf("rules[%d].locations[%d].pattern %q is not a valid glob: %v", i, j, l.Pattern, err)
				}
			}
		}
	}
	return Rules(rules), nil
}

// Allows reports whether an entity of kind whose origin location is origin
// may be ingested.
func (r Rules) Allows(kind string, origin LocationRef) bool {
	for _, rule := range r {
		if !rule.matchesLocation(origin) {
			continue
		}
		for _, k := range rule.Allow {
			if strings.EqualFold(strings.TrimSpace(k), kind) {
				return true
			}
		}
	}
	return false
}

func (rule Rule) matchesLocation(origin LocationRef) bool {
	if len(rule.Locations) == 0 {
		return true
	}
	for _, l := range rule.Locations {
		if l.Type != origin.Type {
			continue
		}
		if l.Exact != "" && l.Exact != origin.Target {
			continue
		}
		if l.Pattern != "" && !MatchGlob(l.Pattern, origin.Target) {
			continue
		}
		return true
	}
	return false
}

// MatchGlob reports whether target matches the glob pattern, ignoring case:
// "*", "?" and "[...]" match within one "/"-separated segment and "**"
// matches any number of segments. Dot files are matched like any other.
func MatchGlob(pattern, target string) bool {
	return matchSegments(strings.Split(strings.ToLower(pattern), "/"), strings.Split(strings.ToLower(target), "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for len(rest) > 0 && rest[0] == "**" {
				rest = rest[1:]
			}
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegments(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		ok, err := path.Match(pat[0], segs[0])
		if err != nil || !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
