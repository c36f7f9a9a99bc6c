// Package cluster lets Atrium replicas that share one PostgreSQL database
// act as one: catalog changes made on one replica reach the others through
// LISTEN/NOTIFY (their read caches are invalidated and their live pages
// updated at once), and a session-level advisory lock elects the one
// replica that processes locations and runs entity providers. If that
// replica dies, its connection closes, PostgreSQL releases the lock, and
// another replica takes over within LeaderPoll.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/atrium-portal/atrium/internal/engine"
)

// Channel is the NOTIFY channel of catalog changes.
const Channel = "atrium_catalog_changes"

// leaderLockKey is the advisory lock key of catalog processing
// (the bytes "atrcatld" as a big-endian int64).
const leaderLockKey int64 = 0x6174726361746c64

// maxPayload stays under PostgreSQL's 8000-byte NOTIFY payload limit;
// larger changes are sent as "everything changed".
const maxPayload = 7900

// Postgres is an engine.Cluster on a PostgreSQL pool.
type Postgres struct {
	pool *pgxpool.Pool
	// id tells this replica's own notifications apart.
	id string
	// LeaderPoll is how often a waiting replica tries the lock, and how
	// often the leader checks that its connection is alive (default 1s).
	LeaderPoll time.Duration
}

// NewPostgres returns a cluster on pool with a random replica id.
func NewPostgres(pool *pgxpool.Pool) *Postgres {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Postgres{pool: pool, id: hex.EncodeToString(b), LeaderPoll: time.Second}
}

// ID is this replica's id in notifications.
func (p *Postgres) ID() string { return p.id }

type message struct {
	From string   `json:"f"`
	Kind string   `json:"k,omitempty"`
	Refs []string `json:"r,omitempty"`
	All  bool     `json:"a,omitempty"`
}

// Publish sends ev to the other replicas.
func (p *Postgres) Publish(ctx context.Context, ev engine.ChangeEvent) error {
	m := message{From: p.id, Kind: string(ev.Kind), Refs: ev.Refs, All: ev.Overflow}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxPayload {
		b, _ = json.Marshal(message{From: p.id, All: true})
	}
	_, err = p.pool.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, string(b))
	return err
}

// Listen delivers the other replicas' changes until ctx is done or the
// connection fails.
func (p *Postgres) Listen(ctx context.Context, deliver func(engine.ChangeEvent)) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection carries LISTEN state: never hand it back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var m message
		if err := json.Unmarshal([]byte(n.Payload), &m); err != nil {
			deliver(engine.ChangeEvent{Overflow: true})
			continue
		}
		if m.From == p.id {
			continue
		}
		if m.All {
			deliver(engine.ChangeEvent{Overflow: true})
			continue
		}
		deliver(engine.ChangeEvent{Kind: engine.ChangeKind(m.Kind), Refs: m.Refs})
	}
}

// Lead blocks until this replica holds the processing lock. The returned
// context is cancelled when the lock's connection stops answering; release
// unlocks and closes it.
func (p *Postgres) Lead(ctx context.Context) (context.Context, func(), error) {
	poll := p.LeaderPoll
	if poll <= 0 {
		poll = time.Second
	}
	for {
		conn, err := p.pool.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if !sleep(ctx, poll) {
				return nil, nil, ctx.Err()
			}
			continue
		}
		var got bool
		// An error (a broken connection) is retried with another one.
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", leaderLockKey).Scan(&got); err != nil || !got {
			conn.Release()
			if !sleep(ctx, poll) {
				return nil, nil, ctx.Err()
			}
			continue
		}
		// The lock belongs to this session: keep the connection out of the
		// pool for as long as the lead lasts.
		pc := conn.Hijack()
		lctx, cancel := context.WithCancelCause(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(poll)
			defer t.Stop()
			for {
				select {
				case <-lctx.Done():
					return
				case <-t.C:
				}
				pctx, pcancel := context.WithTimeout(lctx, 2*poll+time.Second)
				err := pc.Ping(pctx)
				pcancel()
				if err != nil && lctx.Err() == nil {
					cancel(fmt.Errorf("the leader's database connection failed: %w", err))
					return
				}
			}
		}()
		release := func() {
			cancel(nil)
			<-done
			uctx, ucancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = pc.Exec(uctx, "SELECT pg_advisory_unlock($1)", leaderLockKey)
			_ = pc.Close(uctx)
			ucancel()
		}
		return lctx, release, nil
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
