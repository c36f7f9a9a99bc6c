package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// PruneResult says what Prune did.
type PruneResult struct {
	// Through is the last pruned sequence number (0: nothing pruned).
	Through int64
	Deleted int64
}

// Prune deletes the records older than before, oldest first up to the
// first record that is not, and leaves a checkpoint (the last pruned
// record's sequence number and hash, with a digest) so that the rest still
// verifies. The prefix is verified first: a tampered prefix is never pruned,
// because pruning it would erase the evidence. The prune itself is recorded.
func (l *Log) Prune(ctx context.Context, before time.Time) (PruneResult, error) {
	head, err := l.p.Store.AuditHead(ctx)
	if err != nil {
		return PruneResult{}, err
	}
	next, prev := int64(1), ""
	var count int64
	if cp := head.Checkpoint; cp != nil {
		if cp.Digest != l.checkpointDigest(*cp) {
			return PruneResult{}, fault.New(fault.Conflict, "audit: the prune checkpoint was altered; run `atrium audit verify`")
		}
		next, prev, count = cp.Seq+1, cp.Hash, cp.Count
	}
	var through int64
	var throughHash string
scan:
	for {
		recs, err := l.p.Store.AuditScan(ctx, next-1, verifyBatch)
		if err != nil {
			return PruneResult{}, err
		}
		for _, rec := range recs {
			if !rec.Time.Before(before) {
				break scan
			}
			if p := check(rec, next, prev); p != nil {
				return PruneResult{}, fault.New(fault.Conflict, "audit: not pruning a tampered log: %s", p.Error())
			}
			through, throughHash = rec.Seq, rec.Hash
			next, prev = rec.Seq+1, rec.Hash
		}
		if len(recs) < verifyBatch {
			break
		}
	}
	if through == 0 {
		return PruneResult{}, nil
	}
	cp := store.AuditCheckpoint{Seq: through, Hash: throughHash, PrunedAt: l.p.Now().UTC().Truncate(time.Microsecond)}
	first := int64(1)
	if head.Checkpoint != nil {
		first = head.Checkpoint.Seq + 1
	}
	cp.Count = count + (through - first + 1)
	cp.Digest = l.checkpointDigest(cp)
	n, err := l.p.Store.AuditPrune(ctx, store.AuditPruneParams{Through: through, Checkpoint: cp})
	if err != nil {
		return PruneResult{}, err
	}
	_, err = l.Append(ctx, Event{
		Actor:    Actor{Ref: "system:atrium", Type: "service"},
		Action:   "atrium.audit.prune",
		Resource: "audit",
		Outcome:  Succeeded,
		Details:  map[string]any{"through": through, "deleted": n, "before": before.UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return PruneResult{Through: through, Deleted: n}, fmt.Errorf("audit: pruned through %d but could not record it: %w", through, err)
	}
	return PruneResult{Through: through, Deleted: n}, nil
}

// RunRetention prunes records older than retention every interval until
// ctx is done. A retention of zero or less keeps everything.
func (l *Log) RunRetention(ctx context.Context, retention, interval time.Duration) {
	if retention <= 0 {
		return
	}
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := l.Prune(ctx, l.p.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			l.p.Logger.Error("audit retention", "error", err.Error())
		} else if res.Deleted > 0 {
			l.p.Logger.Info("audit retention pruned records", "through", res.Through, "deleted", res.Deleted)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
