package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/store/sqlplan"
)

var _ sqlplan.PageBatchRunner = runner{}

// EntitiesGenericThenText runs an entity query and then a query returning
// one text value, both under a generic plan (see DB.queryGeneric), in one
// round trip; see sqlplan.PageBatchRunner.
func (r runner) EntitiesGenericThenText(ctx context.Context, query string, args []any, textQuery string, textArgs []any) ([]*catalog.Stored, string, error) {
	var out []*catalog.Stored
	var s *string
	err := r.db.sendPage(ctx, query, func(b *pgx.Batch, sql string) {
		b.Queue("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
		b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
			var err error
			out, err = scanEntities(ctx, rows)
			return err
		})
		b.Queue(textQuery, textArgs...).QueryRow(func(row pgx.Row) error {
			return row.Scan(&s)
		})
	})
	if err != nil {
		return nil, "", dbErr(ctx, err, "query entities")
	}
	if s == nil {
		return out, "", nil
	}
	return out, *s, nil
}

// largeStatement is the length from which a statement is prepared in a
// connection's literal slots instead of pgx's statement cache (sendPage);
// a variable for tests.
var largeStatement = 4096

// literalSlots is how many large statements a connection keeps prepared.
const literalSlots = 4

// literalsKey is the key of a connection's literalNames in its CustomData.
const literalsKey = "atrium.literals"

// literalNames are the statements prepared in a connection's slots, named
// atrium_literal_<slot>, with when each was last used.
type literalNames struct {
	sql  [literalSlots]string
	used [literalSlots]uint64
	tick uint64
}

// sendPage sends the batch that build makes, given the text or name under
// which to queue query: on a pooled connection, and, when query is a
// large statement with a literal bitmap (sqlplan.LiteralMark), under the
// name of a statement prepared on that connection.
//
// An authorized page that tests the same cached id sets as earlier pages
// names its 12–31 KB bitmap as a literal (sqlplan, pageMemoEntry.expand):
// the statement then binds without it, where pgx copied the parameter
// twice and the server parsed it on every page. Kept in pgx's statement
// cache, each such statement (~125 KB of server memory with its plan)
// would stay until 512 others pushed it out, however many writes have
// replaced its bitmap since; in literalSlots slots per connection, the
// least recently used one is deallocated first.
func (db *DB) sendPage(ctx context.Context, query string, build func(b *pgx.Batch, sql string)) error {
	if !strings.HasPrefix(query, sqlplan.LiteralMark) || len(query) < largeStatement {
		b := &pgx.Batch{}
		build(b, query)
		return db.pool.SendBatch(ctx, b).Close()
	}
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	name, err := literalName(ctx, c.Conn(), query)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	build(b, name)
	return c.SendBatch(ctx, b).Close()
}

// literalName returns the name of the statement prepared on c for sql,
// preparing it in the least recently used slot when no slot holds it.
func literalName(ctx context.Context, c *pgx.Conn, sql string) (string, error) {
	data := c.PgConn().CustomData()
	s, _ := data[literalsKey].(*literalNames)
	if s == nil {
		s = &literalNames{}
		data[literalsKey] = s
	}
	s.tick++
	victim := 0
	for i := range s.sql {
		if s.sql[i] == sql {
			s.used[i] = s.tick
			return literalSlotName(i), nil
		}
		if s.used[i] < s.used[victim] {
			victim = i
		}
	}
	name := literalSlotName(victim)
	if s.sql[victim] != "" {
		s.sql[victim], s.used[victim] = "", 0
		if err := c.Deallocate(ctx, name); err != nil {
			return "", err
		}
	}
	if _, err := c.Prepare(ctx, name, sql); err != nil {
		return "", err
	}
	s.sql[victim], s.used[victim] = sql, s.tick
	return name, nil
}

func literalSlotName(i int) string { return "atrium_literal_" + strconv.Itoa(i) }
