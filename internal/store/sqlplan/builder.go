// Package sqlplan builds the SQL that the sqlite and postgres drivers share:
// filter translation, entity listing with keyset paging, facets and the
// helpers that prepare rows for writing. The two engines differ only in
// placeholder style and in a few expressions, which Dialect names.
//
// Every value reaches the database as a bound parameter; no caller input is
// ever spliced into SQL text.
package sqlplan

import (
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// Dialect is the SQL flavour of an engine.
type Dialect int

// The dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// MaxParams bounds the parameters of one statement. SQLite allows 32766; a
// query needing more is refused with an error rather than failing inside the
// engine.
const MaxParams = 30000

// Builder accumulates the arguments of one statement and hands out their
// placeholders.
type Builder struct {
	d    Dialect
	args []any
	skip *catalog.Filter // a leaf the FROM clause already enforces
	// inOrder makes leaves scalar sub-queries (see leaf).
	inOrder bool
	// kindIndex makes SQLite's kind leaf lower(e.kind), which the kind
	// index serves, for counts: they visit every match, and without a
	// driver a count of one kind would otherwise read every entity row.
	kindIndex bool
	// kindColumn makes PostgreSQL's kind leaf lower(e.kind) (see leaf).
	kindColumn bool
}

// NewBuilder returns an empty builder for dialect d.
func NewBuilder(d Dialect) *Builder { return &Builder{d: d} }

// Dialect returns the builder's dialect.
func (b *Builder) Dialect() Dialect { return b.d }

// Arg binds v and returns its placeholder.
func (b *Builder) Arg(v any) string {
	b.args = append(b.args, v)
	if b.d == Postgres {
		return "$" + strconv.Itoa(len(b.args))
	}
	return "?"
}

// Args returns the bound arguments in placeholder order.
func (b *Builder) Args() []any { return b.args }

// In returns "col IN (…)" for values; values must not be empty. PostgreSQL
// binds one array parameter so the statement text does not depend on the
// number of values.
func (b *Builder) In(col string, values []string) string {
	if b.d == Postgres {
		return col + " = ANY(" + b.Arg(values) + "::text[])"
	}
	var sb strings.Builder
	sb.WriteString(col)
	sb.WriteString(" IN (")
	for i, v := range values {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(b.Arg(v))
	}
	sb.WriteByte(')')
	return sb.String()
}

// Prefix returns a condition that col starts with prefix. SQLite compares a
// byte range, which its indexes serve; PostgreSQL uses LIKE on a column with
// the "C" collation, which its B-tree indexes serve.
func (b *Builder) Prefix(col, prefix string) string {
	if b.d == Postgres {
		return col + " LIKE " + b.Arg(EscapeLike(prefix)+"%") + ` ESCAPE '\'`
	}
	// No valid UTF-8 string contains the byte 0xFF, so prefix+"\xff" is
	// above every string that starts with prefix and below every larger one.
	return "(" + col + " >= " + b.Arg(prefix) + " AND " + col + " < " + b.Arg(prefix+"\xff") + ")"
}

// Contains returns a condition that col contains term as a substring.
func (b *Builder) Contains(col, term string) string {
	return col + " LIKE " + b.Arg("%"+EscapeLike(term)+"%") + ` ESCAPE '\'`
}

// LimitOffset returns the LIMIT/OFFSET clause; limit 0 means no limit.
func (b *Builder) LimitOffset(limit, offset int) string {
	var sb strings.Builder
	switch {
	case limit > 0:
		sb.WriteString(" LIMIT " + strconv.Itoa(limit))
	case offset > 0 && b.d == SQLite:
		sb.WriteString(" LIMIT -1")
	}
	if offset > 0 {
		sb.WriteString(" OFFSET " + strconv.Itoa(offset))
	}
	return sb.String()
}

// EscapeLike escapes the LIKE wildcards in s with a backslash.
func EscapeLike(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if r == '\\' || r == '%' || r == '_' {
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
func itoa(n int) string { return strconv.Itoa(n) }
