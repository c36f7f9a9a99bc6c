package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements of the read pool for the hot,
// fixed-shape queries (an entity by ref or uid, the relations of a few
// entities): SQLite spends about a third of such a lookup parsing the SQL
// again. Only a bounded set of query texts may be cached.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache; past it, queries are prepared per use.
const maxCachedStmts = 256

// query runs a cached statement of the read pool.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c := &db.stmts
	c.mu.Lock()
	st, ok := c.m[query]
	if !ok && len(c.m) < maxCachedStmts {
		var err error
		if st, err = db.read.PrepareContext(ctx, query); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		c.m[query] = st
	}
	c.mu.Unlock()
	if st == nil {
		return db.read.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
