package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/atrium-portal/atrium/internal/store"
)

// Problem is the first inconsistency Verify found.
type Problem struct {
	// Seq is the first record that is not what the chain says it must be.
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

func (p *Problem) Error() string { return fmt.Sprintf("audit record %d: %s", p.Seq, p.Reason) }

// Report is the result of Verify.
type Report struct {
	// Checked is the number of records read.
	Checked int64 `json:"checked"`
	// First and Last are the sequence numbers of the first and last record
	// kept (0 when there are none).
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	// Pruned is the number of records a retention prune replaced by its
	// checkpoint.
	Pruned int64 `json:"pruned"`
	// Problem is nil when the chain is intact.
	Problem *Problem `json:"problem,omitempty"`
}

// OK reports whether the chain is intact.
func (r Report) OK() bool { return r.Problem == nil }

// verifyBatch is how many records Verify reads at a time.
const verifyBatch = 1000

// Verify reads the whole chain and reports the first record that was
// edited, removed or reordered: each record's hash must cover its previous
// hash and its content, its columns must match that content, sequence
// numbers must have no gaps, and the last record must be the chain head.
// A pruned prefix is replaced by a checkpoint whose digest is checked.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	var rep Report
	head, err := l.p.Store.AuditHead(ctx)
	if err != nil {
		return rep, err
	}
	next, prev := int64(1), ""
	if cp := head.Checkpoint; cp != nil {
		rep.Pruned = cp.Count
		if !hmac.Equal([]byte(cp.Digest), []byte(l.checkpointDigest(*cp))) {
			rep.Problem = &Problem{Seq: cp.Seq, Reason: "the checkpoint standing for the pruned records was altered"}
			return rep, nil
		}
		next, prev = cp.Seq+1, cp.Hash
	}
	for {
		recs, err := l.p.Store.AuditScan(ctx, next-1, verifyBatch)
		if err != nil {
			return rep, err
		}
		for _, rec := range recs {
			if p := check(rec, next, prev); p != nil {
				rep.Problem = p
				return rep, nil
			}
			if rep.First == 0 {
				rep.First = rec.Seq
			}
			rep.Last = rec.Seq
			rep.Checked++
			next, prev = rec.Seq+1, rec.Hash
		}
		if len(recs) < verifyBatch {
			break
		}
	}
	switch {
	case head.Seq > next-1:
		rep.Problem = &Problem{Seq: next, Reason: fmt.Sprintf("records %d to %d are missing (removed from the end of the log)", next, head.Seq)}
	case head.Seq < next-1:
		rep.Problem = &Problem{Seq: head.Seq + 1, Reason: fmt.Sprintf("the chain head says the log ends at %d, but records go on to %d", head.Seq, next-1)}
	case head.Hash != prev:
		rep.Problem = &Problem{Seq: head.Seq, Reason: "the last record's hash differs from the chain head (edited or replaced)"}
	}
	return rep, nil
}

// check compares one record with what the chain expects at position want.
func check(rec store.AuditRecord, want int64, prevHash string) *Problem {
	if rec.Seq > want {
		if rec.Seq == want+1 {
			return &Problem{Seq: want, Reason: "the record is missing (removed)"}
		}
		return &Problem{Seq: want, Reason: fmt.Sprintf("records %d to %d are missing (removed)", want, rec.Seq-1)}
	}
	if rec.PrevHash != prevHash {
		return &Problem{Seq: rec.Seq, Reason: fmt.Sprintf("it does not follow record %d: the previous hash it carries differs (records were edited, removed or reordered)", rec.Seq-1)}
	}
	if chainHash(prevHash, rec.Body) != rec.Hash {
		return &Problem{Seq: rec.Seq, Reason: "its content was edited: the hash does not match"}
	}
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(rec.Body))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return &Problem{Seq: rec.Seq, Reason: "its content is not valid JSON"}
	}
	switch {
	case e.Seq != rec.Seq:
		return &Problem{Seq: rec.Seq, Reason: fmt.Sprintf("it was moved: its content says it is record %d (reordered)", e.Seq)}
	case e.Actor.Ref != rec.Actor:
		return &Problem{Seq: rec.Seq, Reason: "its actor column was edited"}
	case e.Action != rec.Action:
		return &Problem{Seq: rec.Seq, Reason: "its action column was edited"}
	case e.Resource != rec.Resource:
		return &Problem{Seq: rec.Seq, Reason: "its resource column was edited"}
	case string(e.Outcome) != rec.Outcome:
		return &Problem{Seq: rec.Seq, Reason: "its outcome column was edited"}
	case e.RequestID != rec.RequestID:
		return &Problem{Seq: rec.Seq, Reason: "its request id column was edited"}
	case !e.Time.Equal(rec.Time):
		return &Problem{Seq: rec.Seq, Reason: "its time column was edited"}
	}
	return nil
}

// checkpointDigest covers a checkpoint's fields: an HMAC under the
// configured checkpoint key, or a plain SHA-256 without one.
func (l *Log) checkpointDigest(cp store.AuditCheckpoint) string {
	msg := fmt.Sprintf("atrium-audit-checkpoint|%d|%s|%d|%d", cp.Seq, cp.Hash, cp.Count, cp.PrunedAt.UTC().UnixMicro())
	if len(l.p.CheckpointKey) > 0 {
		m := hmac.New(sha256.New, l.p.CheckpointKey)
		m.Write([]byte(msg))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
	sum := sha256.Sum256([]byte(msg))
	return "sha256:" + hex.EncodeToString(sum[:])
}
