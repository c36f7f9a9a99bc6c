package sqlplan

import (
	"context"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
)

// IDSetStorer is a PageBatchRunner that can keep a page's id set on the
// server (PostgreSQL's authz_id_sets): after the page (and the text query,
// when there is one) it upserts the row (key, bits) in the same round
// trip, with IDSetUpsert. stored is false when the upsert failed (a
// read-only server, a database not migrated): the page's answer stands.
type IDSetStorer interface {
	PageBatchRunner
	EntitiesGenericStoring(ctx context.Context, query string, args []any, textQuery string, textArgs []any, key, bits []byte) (items []*catalog.Stored, text string, stored bool, err error)
}

// IDSetUpsert stores an id set under its key ($1 = sha256 of $2, the bits)
// or marks it used, and deletes at most 64 rows unused for an hour.
const IDSetUpsert = "WITH old AS (DELETE FROM authz_id_sets WHERE key IN (SELECT key FROM authz_id_sets" +
	" WHERE used_at < now() - interval '1 hour' AND key <> $1 ORDER BY used_at LIMIT 64))" +
	" INSERT INTO authz_id_sets (key, bits) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET used_at = now()"

// idSetRefresh is how long a page trusts that the row it stored is there
// (a missing row costs probes, never a wrong answer); past it a page sends
// the bits again and upserts the row, which keeps it from the cleanup.
// After a failed upsert pages send their bits for as long.
const idSetRefresh = 10 * time.Minute

// storedSet is the server-side state of a page memo entry's bitmap.
//
// A steady owners-only page at 100k entities sent a 12-31 KB bitmap as a
// parameter: pgx copied it twice (argument buffer, Bind message) and wrote
// it to the socket, ~90 µs of Atrium's CPU per page and most of what it
// allocated (docs/benchmarks.md, issue #5, seventh session). The first
// page of an entry sends the bits as before; the second also stores them
// under their hash in the same round trip; the next bind the 32-byte key.
type storedSet struct {
	keyOnce  sync.Once
	key      [sha256.Size]byte
	storedAt atomic.Int64 // unix ns of the last upsert that succeeded
	failedAt atomic.Int64 // unix ns of the last that failed
}

func (st *storedSet) keyOf(bits []byte) []byte {
	st.keyOnce.Do(func() { st.key = sha256.Sum256(bits) })
	return st.key[:]
}

// usable reports whether pages can bind the key alone.
func (st *storedSet) usable(now int64) bool {
	at := st.storedAt.Load()
	return at > 0 && now-at < int64(idSetRefresh)
}

// storable reports whether a page should store the set now.
func (st *storedSet) storable(now int64) bool {
	at := st.failedAt.Load()
	return at == 0 || now-at >= int64(idSetRefresh)
}

// storedTest returns the bit test of the set stored under key, and the
// condition that the row exists in the statement's snapshot. The bits are
// concatenated with nothing so that the sub-query, run once per statement,
// yields them decompressed and in memory: a stored value over 2 KB is
// compressed or out of line, which get_bit would undo on every row.
func storedTest(b *Builder, key []byte, n int) (test, have string) {
	k := b.Arg(key)
	have = "EXISTS (SELECT FROM authz_id_sets WHERE key = " + k + "::bytea)"
	test = "(CASE WHEN e.id < " + b.Arg(int64(n)) + " THEN get_bit((SELECT bits || '\\x'::bytea FROM authz_id_sets WHERE key = " +
		k + "::bytea), e.id::int) = 1 ELSE false END)"
	return test, have
}
