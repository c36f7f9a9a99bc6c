package sqlplan

import (
	"context"
	"slices"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// EntityColumns are the columns every entity query selects, in the order
// Runner.Entities scans them; a nullable sort value follows them.
const EntityColumns = "e.id, e.uid, e.ref, e.body, e.hash, e.errors, e.created_at, e.updated_at"

// UIDField is the order field that sorts by the entity UID itself.
const UIDField = "metadata.uid"

// Runner executes the queries a plan produces.
type Runner interface {
	// Entities runs a query that selects EntityColumns and then one nullable
	// text column (the sort value), and returns the rows in order without
	// relations; or, after them, a RelationsRunner's relations column, and
	// returns them with their relations.
	Entities(ctx context.Context, query string, args []any) ([]*catalog.Stored, error)
	// Count runs a query that returns one integer.
	Count(ctx context.Context, query string, args []any) (int, error)
}

// List returns one page of entities as store.Driver.EntityList documents.
//
// Ordering by a field uses two segments: the entities that have the field,
// in (value, uid) order straight from the search index, then the entities
// that lack it, in uid order. Each segment is one indexed query, so a page
// costs about its size whatever the number of matches.
func List(ctx context.Context, d Dialect, r Runner, p store.EntityListParams) (store.EntityListResult, error) {
	var res store.EntityListResult
	if p.After != nil && p.Before != nil {
		return res, fault.New(fault.Invalid, "list: after and before cannot both be set")
	}
	if p.Limit < 0 || p.Offset < 0 {
		return res, fault.New(fault.Invalid, "list: limit and offset must not be negative")
	}
	if p.Offset > 0 && (p.After != nil || p.Before != nil) {
		return res, fault.New(fault.Invalid, "list: offset cannot be combined with a cursor")
	}
	l := lister{d: d, r: r, p: p, cols: EntityColumns}
	if rr, ok := r.(RelationsRunner); ok {
		l.rels = ", " + rr.RelationsColumn()
	}
	if kr, ok := r.(KeysRunner); ok && p.KeysOnly {
		l.cols, l.rels = kr.KeyColumns(), ""
	}
	dr, err := chooseDriver(ctx, d, r, p.Filter)
	if err != nil {
		return res, err
	}
	if dr != nil && dr.est < driveCap {
		l.drive = dr
	}
	if p.Order != nil {
		l.field = strings.ToLower(strings.TrimSpace(p.Order.Field))
		l.desc = p.Order.Desc
	}
	if l.field == UIDField {
		l.field, l.uidSort = "", true
	}
	if l.field == "metadata.name" {
		// One kind by name walks that kind in name order, unless a more
		// selective leaf than the kind drives the query.
		if k := singleKind(p.Filter); k != nil && (l.drive == nil || l.drive.leaf == k) {
			l.kindLeaf = k
		}
	}
	if l.kindLeaf != nil && !p.CountOnly && (l.kindGeneric() || l.sqliteSets()) && p.Filter != l.kindLeaf {
		// The walk would probe every row for the other conditions: test
		// the ids the cached sets say match instead (see filterSet).
		if tr, ok := r.(TextRunner); ok {
			if l.sets, err = loadPageSet(ctx, d, tr, p.Filter, p.CountTotal); err != nil {
				return res, err
			}
		}
	}
	if p.CountOnly {
		// A count alone reads no page: the first page would cost a
		// query (and, for some filters, entity rows) nobody looks at.
		res.Total, err = l.count(ctx, dr)
		return res, err
	}
	want := 0
	if p.Limit > 0 {
		want = p.Limit + 1
	}
	var items []*catalog.Stored
	if len(p.ThenBy) > 0 {
		if p.After != nil || p.Before != nil {
			return res, fault.New(fault.Invalid, "list: several sort keys page by offset only, not with a cursor")
		}
		items, err = l.sortedPage(ctx, want)
	} else if l.field == "" {
		items, err = l.uidPage(ctx, want)
	} else {
		items, err = l.fieldPage(ctx, want)
	}
	if err != nil {
		return res, err
	}
	if want > 0 && len(items) == want {
		res.HasMore = true
		items = items[:p.Limit]
	}
	if p.Before != nil {
		slices.Reverse(items)
	}
	res.Items = items
	switch {
	case !p.CountTotal:
	case !res.HasMore && p.Offset == 0 && p.After == nil && p.Before == nil:
		// The first page holds every match: it is the count.
		res.Total = len(items)
	default:
		if res.Total, err = l.count(ctx, dr); err != nil {
			return res, err
		}
	}
	return res, nil
}

// count counts every match of the list.
func (l *lister) count(ctx context.Context, dr *driver) (int, error) {
	p := l.p
	if l.sets != nil {
		if n, ok, err := l.sets.total(ctx); err != nil || ok {
			return n, err
		}
	}
	fullText := p.FullText != nil && p.FullText.Term != ""
	if tr, ok := l.r.(TextRunner); ok && p.Filter != nil && l.drive == nil && !(dr != nil && dr.only) && !fullText {
		// Without a selective leaf to start from, SQL would check every
		// candidate against every other condition: count by id sets.
		sets, err := setsPay(ctx, l.d, l.r, p.Filter)
		if err != nil {
			return 0, err
		}
		if sets {
			n, ok, err := countSets(ctx, l.d, tr, p.Filter)
			if err != nil || ok {
				return n, err
			}
		}
	}
	// Counting visits every match whatever its number, so any driver
	// beats scanning all entities.
	b := NewBuilder(l.d)
	b.kindIndex = true
	var q string
	if dr != nil && dr.only && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(dr.leaf.Key)), RelationPrefix) && !fullText {
		// Search rows exist only for stored entities: no join needed.
		q = "SELECT count(DISTINCT k) FROM (" + driverRows(b, dr.leaf) + ")"
	} else {
		from := dr.from(b)
		where, err := l.where(b)
		if err != nil {
			return 0, err
		}
		q = "SELECT count(*) FROM " + from + " WHERE " + where
	}
	return l.r.Count(ctx, q, b.Args())
}

type lister struct {
	d       Dialect
	r       Runner
	p       store.EntityListParams
	field   string // order field; "" orders by uid
	desc    bool
	uidSort bool    // ordering by metadata.uid: SortValue is the uid
	drive   *driver // the selective leaf queries start from, if any
	// kindLeaf, when set, is a one-kind leaf of a list ordered by name:
	// its entities are walked in name order by entities_kind_name.
	kindLeaf *catalog.Filter
	// sets, when set, holds the ids matching the filter, which that walk
	// tests instead of probing each row; the total is their count.
	sets *filterSet
	// rels is ", " and the runner's relations column, or "" (see
	// RelationsRunner).
	rels string
	// cols are the entity columns selected: EntityColumns, or a
	// KeysRunner's key columns for a page asked keys only.
	cols string
}

// kindGeneric reports whether the walk of one kind by name runs under a
// generic plan: its other conditions are all probes (onlyProbesBesides).
func (l *lister) kindGeneric() bool {
	_, ok := l.r.(GenericEntitiesRunner)
	return ok && l.p.FullText == nil && onlyProbesBesides(l.p.Filter, l.kindLeaf)
}

// where returns the filter and full-text conditions over "e".
func (l *lister) where(b *Builder) (string, error) {
	cond, err := b.Filter(l.p.Filter)
	if err != nil {
		return "", err
	}
	ft := l.p.FullText
	if ft == nil || ft.Term == "" {
		return cond, nil
	}
	term := strings.ToLower(ft.Term)
	fields := lowerAll(ft.Fields)
	if len(fields) == 0 {
		if l.field != "" {
			fields = []string{l.field}
		} else {
			fields = []string{UIDField}
		}
	}
	var ors []string
	var keys []string
	for _, f := range fields {
		switch {
		case f == UIDField:
			ors = append(ors, b.Contains("lower(e.uid)", term))
		case strings.HasPrefix(f, RelationPrefix):
			ors = append(ors, "EXISTS (SELECT 1 FROM relations tr WHERE tr.source_ref = e.ref AND tr.type_lower = "+
				b.Arg(strings.TrimPrefix(f, RelationPrefix))+" AND "+b.Contains("tr.target_ref", term)+")")
		default:
			keys = append(keys, f)
		}
	}
	if len(keys) > 0 {
		ors = append(ors, "EXISTS (SELECT 1 FROM search ts WHERE ts.entity_id = e.id AND "+
			b.In("ts.key", keys)+" AND "+b.Contains("ts.value", term)+")")
	}
	return cond + " AND (" + strings.Join(ors, " OR ") + ")", nil
}

// direction returns the SQL order keyword and comparison operator for a
// walk that is forward (in the requested order) or backward.
func (l *lister) direction(forward bool) (dir, cmp string) {
	asc := l.desc != forward // forward asc, or backward desc
	if asc {
		return "ASC", ">"
	}
	return "DESC", "<"
}

func (l *lister) uidPage(ctx context.Context, want int) ([]*catalog.Stored, error) {
	b := NewBuilder(l.d)
	from := l.drive.from(b)
	where, err := l.where(b)
	if err != nil {
		return nil, err
	}
	pos, forward := l.p.After, true
	if l.p.Before != nil {
		pos, forward = l.p.Before, false
	}
	dir, cmp := l.direction(forward)
	if pos != nil {
		where += " AND e.uid " + cmp + " " + b.Arg(pos.UID)
	}
	sv := "CAST(NULL AS TEXT)"
	if l.uidSort {
		sv = "e.uid"
	}
	q := "SELECT " + l.cols + ", " + sv + l.rels + " FROM " + from + " WHERE " + where +
		" ORDER BY e.uid " + dir + b.LimitOffset(want, l.p.Offset)
	return l.r.Entities(ctx, q, b.Args())
}

// fieldPage walks the two segments (entities with the field, then those
// without) in the paging direction until it has want items.
func (l *lister) fieldPage(ctx context.Context, want int) ([]*catalog.Stored, error) {
	type step struct {
		present bool
		pos     *store.Position // exclusive bound inside the segment
	}
	var steps []step
	forward := l.p.Before == nil
	switch {
	case l.p.After != nil && l.p.After.Value == nil:
		steps = []step{{present: false, pos: l.p.After}}
	case l.p.After != nil:
		steps = []step{{present: true, pos: l.p.After}, {present: false}}
	case l.p.Before != nil && l.p.Before.Value == nil:
		steps = []step{{present: false, pos: l.p.Before}, {present: true}}
	case l.p.Before != nil:
		steps = []step{{present: true, pos: l.p.Before}}
	default:
		steps = []step{{present: true}, {present: false}}
	}
	var out []*catalog.Stored
	offset := l.p.Offset
	for i, s := range steps {
		limit := 0
		if want > 0 {
			limit = want - len(out)
		}
		items, err := l.segment(ctx, s.present, s.pos, forward, limit, offset)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if want > 0 && len(out) >= want {
			break
		}
		if offset > 0 && len(items) == 0 && i+1 < len(steps) {
			// The offset ran past this segment: skip what it held.
			n, err := l.segmentCount(ctx, s.present)
			if err != nil {
				return nil, err
			}
			offset = max(offset-n, 0)
		} else {
			offset = 0
		}
	}
	return out, nil
}

func (l *lister) segment(ctx context.Context, present bool, pos *store.Position, forward bool, limit, offset int) ([]*catalog.Stored, error) {
	b := NewBuilder(l.d)
	dir, cmp := l.direction(forward)
	var q string
	if present && l.kindLeaf != nil {
		// One kind by name: walk entities_kind_name. The kind condition
		// replaces the kind leaf; the cursor bound is a range on the name
		// (which the index serves) refined by the uid.
		name := "lower(e.name)"
		if l.d == Postgres {
			name = `(lower(e.name) COLLATE "C")`
		}
		b.skip = l.kindLeaf
		kindArg := b.Arg(strings.ToLower(strings.TrimSpace(l.kindLeaf.Values[0])))
		var setHead string
		if l.sets != nil && l.d == SQLite {
			// Bound before the probes: SQLite's placeholders are positional.
			var release func()
			setHead, release = l.sets.sqliteCond(b)
			defer release()
		}
		where, err := l.where(b)
		if err != nil {
			return nil, err
		}
		if setHead != "" {
			where = setHead + "(" + where + ") END)"
		} else if l.sets != nil {
			if cond, ok := l.sets.cond(b, where); ok {
				where = cond
			}
		}
		if pos != nil {
			where += " AND " + name + " " + cmp + "= " + b.Arg(*pos.Value) +
				" AND (" + name + " " + cmp + " " + b.Arg(*pos.Value) + " OR e.uid " + cmp + " " + b.Arg(pos.UID) + ")"
		}
		q = "SELECT " + l.cols + ", " + name + l.rels + " FROM entities e WHERE lower(e.kind) = " + kindArg + " AND " + where +
			" ORDER BY " + name + " " + dir + ", e.uid " + dir
		if l.kindGeneric() {
			if l.sets != nil {
				return l.sets.entities(ctx, l.r.(GenericEntitiesRunner), q+b.LimitOffset(limit, offset), b.Args())
			}
			return l.r.(GenericEntitiesRunner).EntitiesGeneric(ctx, q+b.LimitOffset(limit, offset), b.Args())
		}
	} else if present {
		from := l.presentFrom(b)
		keyArg := b.Arg(l.field)
		where, err := l.where(b)
		if err != nil {
			return nil, err
		}
		if pos != nil {
			where += " AND (s.value, e.uid) " + cmp + " (" + b.Arg(*pos.Value) + ", " + b.Arg(pos.UID) + ")"
		}
		q = "SELECT " + l.cols + ", s.value" + l.rels + " FROM " + from +
			" WHERE s.key = " + keyArg + " AND s.is_min AND " + where +
			" ORDER BY s.value " + dir + ", e.uid " + dir
	} else {
		from := l.drive.from(b)
		where, err := l.where(b)
		if err != nil {
			return nil, err
		}
		where += " AND NOT EXISTS (SELECT 1 FROM search m WHERE m.entity_id = e.id AND m.key = " + b.Arg(l.field) + ")"
		if pos != nil {
			where += " AND e.uid " + cmp + " " + b.Arg(pos.UID)
		}
		q = "SELECT " + l.cols + ", CAST(NULL AS TEXT)" + l.rels + " FROM " + from + " WHERE " + where +
			" ORDER BY e.uid " + dir
	}
	return l.r.Entities(ctx, q+b.LimitOffset(limit, offset), b.Args())
}

func (l *lister) segmentCount(ctx context.Context, present bool) (int, error) {
	b := NewBuilder(l.d)
	var q string
	if present {
		from := l.presentFrom(b)
		keyArg := b.Arg(l.field)
		where, err := l.where(b)
		if err != nil {
			return 0, err
		}
		q = "SELECT count(*) FROM " + from + " WHERE s.key = " + keyArg + " AND s.is_min AND " + where
	} else {
		from := l.drive.from(b)
		where, err := l.where(b)
		if err != nil {
			return 0, err
		}
		q = "SELECT count(*) FROM " + from + " WHERE " + where +
			" AND NOT EXISTS (SELECT 1 FROM search m WHERE m.entity_id = e.id AND m.key = " + b.Arg(l.field) + ")"
	}
	return l.r.Count(ctx, q, b.Args())
}

// presentFrom returns the FROM clause of the segment of entities that have
// the order field: a walk of the search index in value order, or, with a
// driver, its few candidates joined to their sort rows.
func (l *lister) presentFrom(b *Builder) string {
	if l.drive == nil {
		return "search s JOIN entities e ON e.id = s.entity_id"
	}
	return l.drive.from(b) + " CROSS JOIN search s ON s.entity_id = e.id"
}

// sortedPage orders by every sort key (Order, then ThenBy), each with the
// entities lacking it last, then by uid, and pages by offset. It sorts all
// matches, so it costs the number of matches: the single-key walks above
// are the fast path, this is for GET /entities with several order
// parameters. Items carry no sort value: several keys have no keyset
// position.
func (l *lister) sortedPage(ctx context.Context, want int) ([]*catalog.Stored, error) {
	b := NewBuilder(l.d)
	from := l.drive.from(b)
	where, err := l.where(b)
	if err != nil {
		return nil, err
	}
	keys := l.p.ThenBy
	if l.p.Order != nil {
		keys = append([]store.Order{*l.p.Order}, keys...)
	}
	var order []string
	for _, o := range keys {
		field := strings.ToLower(strings.TrimSpace(o.Field))
		if field == "" {
			return nil, fault.New(fault.Invalid, "list: a sort key has no field")
		}
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		if field == UIDField {
			order = append(order, "e.uid"+dir)
			continue
		}
		v := "(SELECT v.value FROM search v WHERE v.entity_id = e.id AND v.key = " + b.Arg(field) + " AND v.is_min)"
		w := "(SELECT v.value FROM search v WHERE v.entity_id = e.id AND v.key = " + b.Arg(field) + " AND v.is_min)"
		order = append(order, "("+v+" IS NULL)", w+dir)
	}
	order = append(order, "e.uid ASC")
	q := "SELECT " + l.cols + ", CAST(NULL AS TEXT)" + l.rels + " FROM " + from + " WHERE " + where +
		" ORDER BY " + strings.Join(order, ", ") + b.LimitOffset(want, l.p.Offset)
	return l.r.Entities(ctx, q, b.Args())
}

// RelationsRunner is a Runner whose entity queries can select each
// entity's relations as one more column after the sort value, so that a
// page needs no second statement for them. List's queries then select it.
type RelationsRunner interface {
	Runner
	// RelationsColumn returns the column's expression over "e".
	RelationsColumn() string
}

// KeysRunner is a Runner that can read a page keys only
// (store.EntityListParams.KeysOnly): List's queries then select its key
// columns instead of EntityColumns and no relations column, and the
// runner returns items without body, hash, status or relations.
type KeysRunner interface {
	Runner
	// KeyColumns returns the columns over "e" that take EntityColumns'
	// place, as many and scanned the same way, the body NULL.
	KeyColumns() string
}

// GenericEntitiesRunner is a Runner that can run an entity query under
// one generic plan, made once and reused, where its engine would otherwise
// plan every execution for its parameter values (see GenericRunner).
type GenericEntitiesRunner interface {
	Runner
	EntitiesGeneric(ctx context.Context, query string, args []any) ([]*catalog.Stored, error)
}

// onlyProbesBesides reports whether every condition of f's top-level AND
// other than leaf is an OR or a NOT. On PostgreSQL the leaves under those
// are scalar probes of the row (see Builder.leaf), which no plan can start
// from: a walk of one kind by name is then the only plan whatever the
// values, and planning it for every page (a third of an owners-only
// policy's page at 100k entities) buys nothing. A leaf of the AND could be
// selective enough to start from, which only a plan for its values sees.
func onlyProbesBesides(f, leaf *catalog.Filter) bool {
	switch f.Op {
	case catalog.OpMatch:
		return f == leaf
	case catalog.OpAll:
		for _, c := range f.Children {
			if c == nil || !onlyProbesBesides(c, leaf) {
				return false
			}
		}
	}
	return true
}

// singleKind returns the leaf of f's top-level AND that selects exactly one
// kind, or nil.
func singleKind(f *catalog.Filter) *catalog.Filter {
	for _, leaf := range conjuncts(f, nil) {
		if leaf.Match == catalog.MatchIn && len(leaf.Values) == 1 &&
			strings.ToLower(strings.TrimSpace(leaf.Key)) == "kind" {
			return leaf
		}
	}
	return nil
}
