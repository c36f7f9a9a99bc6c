package audit

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// Params configure a Log.
type Params struct {
	Store store.AuditStore
	// Logger receives append failures (an audit write that fails is also
	// returned to the caller).
	Logger *slog.Logger
	// Redact, when set, is applied to every string of an event before it is
	// stored, so that secrets never reach the audit log.
	Redact func(string) string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// MaxDetailsBytes bounds the JSON of an event's Details (default 8 KiB);
	// larger details are replaced by a note saying so.
	MaxDetailsBytes int
	// CheckpointKey, when set, keys the HMAC that signs prune checkpoints.
	CheckpointKey []byte
}

// Log appends events to the hash-chained audit log.
type Log struct {
	p Params
}

// New returns a Log writing to p.Store.
func New(p Params) *Log {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.MaxDetailsBytes <= 0 {
		p.MaxDetailsBytes = 8 << 10
	}
	return &Log{p: p}
}

// ErrNoLog is returned by Record when ctx carries no audit log: the code
// runs outside a request and was not given one with WithLog.
var ErrNoLog = errors.New("audit: no audit log in the context")

type logKey struct{}

// WithLog returns ctx carrying l, for Record calls outside HTTP requests
// (command-line tools, background jobs).
func WithLog(ctx context.Context, l *Log) context.Context {
	return context.WithValue(ctx, logKey{}, l)
}

// Record appends ev to the audit log of the request (or WithLog context)
// that ctx belongs to. Empty Actor, IP, UserAgent, RequestID and Time are
// filled from the request and its principal.
func Record(ctx context.Context, ev Event) error {
	if st := stateFrom(ctx); st != nil {
		st.fill(&ev)
		if ev.Outcome != Allowed {
			// The handler's record stands for the request.
			st.recorded.Add(1)
		}
		_, err := st.log.Append(ctx, withPrincipal(ctx, ev))
		return err
	}
	if l, ok := ctx.Value(logKey{}).(*Log); ok && l != nil {
		_, err := l.Append(ctx, withPrincipal(ctx, ev))
		return err
	}
	return ErrNoLog
}

// withPrincipal fills the actor from the principal in ctx.
func withPrincipal(ctx context.Context, ev Event) Event {
	if ev.Actor.Ref != "" {
		return ev
	}
	ev.Actor = actorOf(auth.PrincipalFrom(ctx))
	return ev
}

func actorOf(p *auth.Principal) Actor {
	if p == nil || p.Type == auth.PrincipalNone || p.Ref == "" {
		return Actor{Ref: Anonymous, Type: string(auth.PrincipalNone)}
	}
	return Actor{Ref: p.Ref, Type: string(p.Type), TokenID: p.TokenID, Via: p.Via}
}

// Append stores ev as the next record of the chain and returns the entry.
func (l *Log) Append(ctx context.Context, ev Event) (Entry, error) {
	ev, err := l.normalize(ev)
	if err != nil {
		return Entry{}, err
	}
	var entry Entry
	_, err = l.p.Store.AuditAppend(ctx, store.AuditAppendParams{
		Seal: func(seq int64, prevHash string) (store.AuditRecord, error) {
			body, err := canonical(seq, ev)
			if err != nil {
				return store.AuditRecord{}, fault.Wrap(fault.Internal, err, "audit: encode event")
			}
			hash := chainHash(prevHash, body)
			entry = Entry{Seq: seq, Event: ev, PrevHash: prevHash, Hash: hash}
			return store.AuditRecord{
				Seq: seq, Time: ev.Time, Actor: ev.Actor.Ref, Action: ev.Action, Resource: ev.Resource,
				Outcome: string(ev.Outcome), RequestID: ev.RequestID, Body: body, PrevHash: prevHash, Hash: hash,
			}, nil
		},
	})
	if err != nil {
		l.p.Logger.Error("audit append failed", "action", l.redact(ev.Action), "error", l.redact(err.Error()))
		return Entry{}, err
	}
	return entry, nil
}

// normalize checks ev, fills the time, redacts secrets and bounds details.
// Details go through a JSON round trip so that what is hashed is exactly
// what a reader decodes.
func (l *Log) normalize(ev Event) (Event, error) {
	if ev.Action == "" {
		return ev, fault.New(fault.Invalid, "audit: an event needs an action")
	}
	if !ev.Outcome.Valid() {
		return ev, fault.New(fault.Invalid, "audit: outcome %q is not allowed, succeeded, failed or denied", ev.Outcome)
	}
	if ev.Actor.Ref == "" {
		ev.Actor.Ref = Anonymous
	}
	if ev.Time.IsZero() {
		ev.Time = l.p.Now()
	}
	// Stores keep microseconds; the hashed body must match what they keep.
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	ev.Actor.Ref = l.redact(truncate(ev.Actor.Ref, 512))
	ev.Actor.Type = truncate(ev.Actor.Type, 64)
	ev.Actor.TokenID = l.redact(truncate(ev.Actor.TokenID, 256))
	ev.Actor.Via = truncate(ev.Actor.Via, 64)
	ev.IP = l.redact(truncate(ev.IP, 128))
	ev.RequestID = truncate(ev.RequestID, 128)
	ev.UserAgent = l.redact(truncate(ev.UserAgent, 512))
	ev.Action = l.redact(truncate(ev.Action, 512))
	ev.Resource = l.redact(truncate(ev.Resource, 2048))
	if len(ev.Details) > 0 {
		raw, err := json.Marshal(ev.Details)
		if err != nil {
			return ev, fault.Wrap(fault.Internal, err, "audit: details of %s are not JSON", ev.Action)
		}
		var details map[string]any
		if len(raw) > l.p.MaxDetailsBytes {
			details = map[string]any{"truncated": true, "bytes": len(raw)}
		} else if err := json.Unmarshal(raw, &details); err != nil {
			return ev, fault.Wrap(fault.Internal, err, "audit: details of %s", ev.Action)
		}
		ev.Details = redactValue(details, l.redact).(map[string]any)
	}
	return ev, nil
}

func (l *Log) redact(s string) string {
	if l.p.Redact == nil || s == "" {
		return s
	}
	return l.p.Redact(s)
}

func redactValue(v any, redact func(string) string) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case map[string]any:
		for k, e := range x {
			x[k] = redactValue(e, redact)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactValue(e, redact)
		}
		return x
	}
	return v
}

// truncate bounds s to n bytes and makes it valid UTF-8, so that the
// stored columns equal what the hashed JSON decodes to.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
