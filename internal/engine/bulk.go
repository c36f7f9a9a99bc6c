package engine

import (
	"context"
	"time"
)

// bulkEndTimeout bounds building the indexes after a bulk load whose pass
// was cancelled (the process is shutting down; Migrate finishes the job at
// the next start).
const bulkEndTimeout = 10 * time.Minute

// beginBulk starts a bulk load in the store when the catalog is empty (the
// first pass on a fresh database), and returns the function that ends it.
// A store that cannot start one costs one cheap query.
func (e *Engine) beginBulk(ctx context.Context) (end func()) {
	began, err := e.store.BulkBegin(ctx)
	if err != nil {
		e.log.Warn("catalog: bulk load not started; loading row by row", "err", err)
		return func() {}
	}
	if !began {
		return func() {}
	}
	start := time.Now()
	e.counters.firstLoad.Store(true)
	return func() {
		defer e.counters.firstLoad.Store(false)
		// The writes are done: what follows is the index build, whose
		// length this line and the next one bracket.
		e.log.Info("catalog: bulk load written; building indexes", "took", time.Since(start).Round(time.Millisecond))
		built := time.Now()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bulkEndTimeout)
		defer cancel()
		if err := e.store.BulkEnd(ctx); err != nil {
			e.log.Error("catalog: building indexes after the bulk load failed; they are built at the next start", "err", err)
			return
		}
		e.log.Info("catalog: bulk load done", "took", time.Since(start).Round(time.Millisecond), "indexes", time.Since(built).Round(time.Millisecond))
	}
}
