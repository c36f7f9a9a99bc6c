package engine

import (
	"context"
	"sync/atomic"
	"time"
)

// Cluster connects the engines of replicas that share one database
// (PostgreSQL: LISTEN/NOTIFY and an advisory lock). A single process needs
// none.
type Cluster interface {
	// Publish tells the other replicas about a change made here. It is
	// best effort: a replica that misses it still sees the change in the
	// database, after its read caches' maximum age at the latest.
	Publish(ctx context.Context, ev ChangeEvent) error
	// Listen delivers the changes other replicas publish until ctx is done
	// or the connection fails; deliver must not block.
	Listen(ctx context.Context, deliver func(ChangeEvent)) error
	// Lead blocks until this replica is the one that processes locations
	// and runs providers, then returns a context that is cancelled when
	// leadership is lost (its database connection broke) and a function
	// that gives it up.
	Lead(ctx context.Context) (context.Context, func(), error)
}

// Follow applies the changes other replicas publish: it invalidates the
// read caches and delivers the events to this replica's subscribers (live
// pages), until ctx is done. Without a cluster it returns at once. A broken
// connection is retried with backoff; while it is down, reads fall back to
// the caches' maximum age.
func (e *Engine) Follow(ctx context.Context) error {
	if e.cluster == nil {
		return nil
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := e.cluster.Listen(ctx, e.applyRemote)
		if ctx.Err() != nil {
			return nil
		}
		// Changes may have been missed while not listening.
		e.applyRemote(ChangeEvent{Overflow: true})
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		e.log.Warn("catalog change notifications interrupted; reconnecting", "err", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	return nil
}

// applyRemote invalidates what another replica's change made stale and
// tells local subscribers; it does not publish the event again.
func (e *Engine) applyRemote(ev ChangeEvent) {
	e.cs.invalidate()
	if ev.Overflow {
		e.subs.deliverAll()
		return
	}
	e.subs.deliver(ev.Kind, ev.Refs)
}

// MarkReady declares the engine ready without running it: for replicas
// that only serve requests (--role=api) and leave processing to workers.
func (e *Engine) MarkReady() { e.readyOnce.Do(func() { close(e.ready) }) }

// followerReadyAfter is how long a replica waits for the lead before it
// declares itself ready to serve what the leading replica stores. A free
// lock is taken at once, so a lone replica still becomes ready only after
// its first processing pass.
const followerReadyAfter = 2 * time.Second

// lead waits for leadership when replicas share the database.
func (e *Engine) lead(ctx context.Context) (context.Context, func(), error) {
	if e.cluster == nil {
		return ctx, func() {}, nil
	}
	got := make(chan struct{})
	go func() {
		t := time.NewTimer(followerReadyAfter)
		defer t.Stop()
		select {
		case <-got:
		case <-ctx.Done():
		case <-t.C:
			e.log.Info("another replica leads catalog processing; serving what it stores")
			e.MarkReady()
		}
	}()
	lctx, release, err := e.cluster.Lead(ctx)
	close(got)
	if err != nil {
		return nil, nil, err
	}
	e.log.Info("leading catalog processing")
	return lctx, release, nil
}

// publishQueue is how many local changes may wait to be sent to the other
// replicas; beyond it they are merged into one "everything changed" event.
const publishQueue = 256

// startPublisher forwards local changes to the cluster from one goroutine,
// so that writers never wait for the network.
func (e *Engine) startPublisher() {
	ch := make(chan ChangeEvent, publishQueue)
	var overflow atomic.Bool
	e.subs.forward = func(ev ChangeEvent) {
		select {
		case ch <- ev:
		default:
			overflow.Store(true)
		}
	}
	e.wg.Go(func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { <-e.closed; cancel() }()
		for {
			var ev ChangeEvent
			select {
			case <-ctx.Done():
				return
			case ev = <-ch:
			}
			if overflow.Swap(false) {
				ev = ChangeEvent{Overflow: true}
			}
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			if err := e.cluster.Publish(pctx, ev); err != nil && ctx.Err() == nil {
				e.log.Warn("telling other replicas about a catalog change failed", "err", err)
			}
			pcancel()
		}
	})
}

// Leading reports whether this engine is the one processing locations and
// running providers (always, once Run started, without a cluster).
func (e *Engine) Leading() bool { return e.leading.Load() }
