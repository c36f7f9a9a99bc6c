package catalog

import (
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// The limits of the filter languages. Past them a filter is refused, so one
// request cannot make the store build an unbounded query.
const (
	MaxFilterSets       = 100 // `filter` parameters in one request
	MaxFilterConditions = 50  // conditions in one filter set, keys in one predicate object, items of $all/$any
	MaxFilterValues     = 100 // values of one key in a filter set, items of $in
	MaxPredicateDepth   = 16  // nesting of predicate objects and logical nodes
	MaxPredicateNodes   = 1000
)

// ParseFilterParams parses the values of Backstage's `filter` query
// parameter (backstage.md §2.1). Each value is a filter set and sets are
// ORed; a set's comma-separated conditions are ANDed; a condition is "key"
// (the key exists) or "key=value" split at the first "=", both trimmed.
// The same key repeated in one set matches any of its values. Keys and
// values are lowercased; blank sets and conditions are ignored. It returns
// nil, matching every entity, when nothing remains.
func ParseFilterParams(values []string) (*Filter, error) {
	if len(values) > MaxFilterSets {
		return nil, fault.New(fault.Invalid, "too many filter parameters: %d, at most %d are allowed", len(values), MaxFilterSets)
	}
	var sets []*Filter
	for i, raw := range values {
		set, err := parseFilterSet(i, raw)
		if err != nil {
			return nil, err
		}
		if set != nil {
			sets = append(sets, set)
		}
	}
	switch len(sets) {
	case 0:
		return nil, nil
	case 1:
		return sets[0], nil
	}
	return Any(sets...), nil
}

func parseFilterSet(index int, raw string) (*Filter, error) {
	var leaves []*Filter
	byKey := map[string]*Filter{}
	conditions := 0
	for statement := range strings.SplitSeq(raw, ",") {
		statement = strings.TrimSpace(statement)
		if statement == "" {
			continue
		}
		conditions++
		if conditions > MaxFilterConditions {
			return nil, fault.New(fault.Invalid, "filter[%d] has more than %d conditions", index, MaxFilterConditions)
		}
		key, value, hasValue := strings.Cut(statement, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if key == "" {
			return nil, fault.New(fault.Invalid, "invalid filter, %q is not a valid statement: filter[%d] has a condition with an empty key", statement, index)
		}
		f := byKey[key]
		if f == nil {
			f = Exists(key)
			byKey[key] = f
			leaves = append(leaves, f)
		}
		if !hasValue {
			continue
		}
		if f.Match == MatchExists {
			f.Match = MatchIn
		}
		if len(f.Values) >= MaxFilterValues {
			return nil, fault.New(fault.Invalid, "filter[%d] gives key %q more than %d values", index, key, MaxFilterValues)
		}
		f.Values = append(f.Values, strings.ToLower(strings.TrimSpace(value)))
	}
	if len(leaves) == 0 {
		return nil, nil
	}
	return All(leaves...), nil
}
