package store

import (
	"context"
	"time"
)

// AuditStore keeps the append-only, hash-chained audit log. The store only
// serialises appends and keeps rows; hashing and verification belong to
// internal/audit, which hands the store a Seal function.
type AuditStore interface {
	// AuditAppend appends one record. Under the chain's write lock (the one
	// SQLite writer; a row lock on the chain head in PostgreSQL, so replicas
	// never fork the chain) it reads the head, calls p.Seal with the next
	// sequence number and the head's hash, inserts the row Seal returns and
	// advances the head.
	AuditAppend(ctx context.Context, p AuditAppendParams) (AuditRecord, error)
	// AuditList returns records matching the params, newest first.
	AuditList(ctx context.Context, p AuditListParams) ([]AuditRecord, error)
	// AuditScan returns up to limit records with Seq > after, in sequence
	// order, for verification and export.
	AuditScan(ctx context.Context, after int64, limit int) ([]AuditRecord, error)
	// AuditHead returns the chain head (Seq 0 and an empty hash when the log
	// is empty) and the checkpoint left by the last prune (nil when none).
	AuditHead(ctx context.Context) (AuditHead, error)
	// AuditPrune deletes every record with Seq <= p.Through in one
	// transaction and stores p.Checkpoint in their place.
	AuditPrune(ctx context.Context, p AuditPruneParams) (int64, error)
	// AuditCountByHour counts records per hour and outcome in [From, To).
	AuditCountByHour(ctx context.Context, from, to time.Time) ([]AuditHourCount, error)
}

// AuditRecord is one row of the audit log. Body is the canonical JSON that
// Hash covers; the other columns repeat fields of it for filtering.
type AuditRecord struct {
	Seq       int64
	Time      time.Time
	Actor     string
	Action    string
	Resource  string
	Outcome   string
	RequestID string
	Body      []byte
	PrevHash  string
	Hash      string
}

// AuditAppendParams carry the function that builds the row to append.
type AuditAppendParams struct {
	// Seal returns the record for sequence number seq following a record
	// whose hash is prevHash. It runs under the write lock and must be quick.
	Seal func(seq int64, prevHash string) (AuditRecord, error)
}

// AuditListParams filter and page audit records. Empty fields do not filter.
type AuditListParams struct {
	Actor    string
	Action   string
	Resource string // prefix match
	Outcome  string
	From, To time.Time // From inclusive, To exclusive
	// Before is a keyset position: only records with Seq < Before.
	Before int64
	Limit  int
}

// AuditHead is the end of the chain and the start of what is kept.
type AuditHead struct {
	Seq        int64
	Hash       string
	Checkpoint *AuditCheckpoint
}

// AuditCheckpoint stands for a pruned prefix of the chain: the sequence
// number and hash of the last pruned record, and a digest that covers them.
type AuditCheckpoint struct {
	Seq      int64
	Hash     string
	Count    int64
	PrunedAt time.Time
	Digest   string
}

// AuditPruneParams say which prefix to delete and what replaces it.
type AuditPruneParams struct {
	Through    int64
	Checkpoint AuditCheckpoint
}

// AuditHourCount is the number of records in one hour with one outcome.
type AuditHourCount struct {
	Hour    time.Time
	Outcome string
	Count   int
}
