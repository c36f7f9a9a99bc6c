package sqlplan

import (
	"context"
	"slices"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// driveCap is the estimate below which a leaf drives a query. SQLite's
// planner cannot tell a selective value from a common one, so it would scan
// every entity in order and probe the filter for each; when some leaf of
// the top-level AND matches few rows, the query starts from that leaf's
// index range instead and sorts the few candidates.
const driveCap = 1000

// fewCandidates is an estimate low enough that the common leaves (kind,
// namespace, apiVersion), counted last, are not worth counting after it.
const fewCandidates = 128

// driver is the leaf a query starts from.
type driver struct {
	leaf *catalog.Filter
	est  int  // matching rows, capped at driveCap
	only bool // the leaf is the whole filter
}

// conjuncts returns the leaves that every match must satisfy: f itself, or
// the leaves under nested AND nodes.
func conjuncts(f *catalog.Filter, out []*catalog.Filter) []*catalog.Filter {
	switch {
	case f == nil:
	case f.Op == catalog.OpMatch:
		out = append(out, f)
	case f.Op == catalog.OpAll:
		for _, c := range f.Children {
			out = conjuncts(c, out)
		}
	}
	return out
}

// chooseDriver estimates every positive IN leaf of the top-level AND and
// returns the most selective, or nil when there is none. Estimates stop
// counting at driveCap, or at the best estimate so far, so each costs at
// most driveCap index steps.
func chooseDriver(ctx context.Context, d Dialect, r Runner, f *catalog.Filter) (*driver, error) {
	if d != SQLite || f == nil {
		return nil, nil
	}
	leaves := conjuncts(f, nil)
	// Keys that few values share among every entity go last, so that the
	// selective leaf usually sets the cap before they are counted.
	slices.SortStableFunc(leaves, func(a, b *catalog.Filter) int { return commonKey(a) - commonKey(b) })
	var best *driver
	for _, leaf := range leaves {
		if leaf.Match != catalog.MatchIn || len(leaf.Values) == 0 || strings.TrimSpace(leaf.Key) == "" {
			continue
		}
		// Counting past the best estimate so far cannot change the
		// choice, so a common leaf after a selective one costs little.
		limit := driveCap
		if best != nil {
			if best.est == 0 || (best.est <= fewCandidates && commonKey(leaf) == 1) {
				// A common leaf could at best save checking a few
				// candidates; counting it is a statement per query
				// (a twentieth of a team's by-query page).
				break
			}
			limit = best.est
		}
		b := NewBuilder(d)
		q := "SELECT count(*) FROM (" + driverRows(b, leaf) + " LIMIT " + itoa(limit) + ")"
		n, err := r.Count(ctx, q, b.Args())
		if err != nil {
			return nil, err
		}
		if best == nil || n < best.est {
			best = &driver{leaf: leaf, est: n}
		}
	}
	if best != nil {
		best.only = f == best.leaf
	}
	return best, nil
}

// commonKey is 1 for the keys whose every value is shared by many
// entities (kind, namespace, apiVersion), 0 for others.
func commonKey(f *catalog.Filter) int {
	switch strings.ToLower(strings.TrimSpace(f.Key)) {
	case "kind", "metadata.namespace", "apiversion":
		return 1
	}
	return 0
}

// driverRows returns a query for the ids (search leaf) or refs (relation
// leaf) of the rows matching leaf.
func driverRows(b *Builder, leaf *catalog.Filter) string {
	key := strings.ToLower(strings.TrimSpace(leaf.Key))
	if typ, ok := strings.CutPrefix(key, RelationPrefix); ok {
		return "SELECT source_ref AS k FROM relations WHERE type_lower = " + b.Arg(typ) + " AND " + b.In("target_ref", lowerAll(leaf.Values))
	}
	return "SELECT entity_id AS k FROM search WHERE key = " + b.Arg(key) + " AND " + b.In("value", lowerAll(leaf.Values))
}

// from returns the FROM clause over entities "e", starting from the driver
// when there is one, and makes the builder skip the driver's leaf.
func (dr *driver) from(b *Builder) string {
	if dr == nil {
		return "entities e"
	}
	b.skip = dr.leaf
	col := "e.id"
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(dr.leaf.Key)), RelationPrefix) {
		col = "e.ref"
	}
	return "(SELECT DISTINCT k FROM (" + driverRows(b, dr.leaf) + ")) d CROSS JOIN entities e ON " + col + " = d.k"
}
