package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// PermissionRead is the permission to read and export the audit log.
const PermissionRead = "atrium.admin.audit.read"

// Authorizer decides whether the caller in ctx holds a permission. The
// policy engine implements it; ReadersAuthorizer stands in until one is
// configured.
type Authorizer interface {
	Authorize(ctx context.Context, permission string) (bool, error)
}

// ReadersAuthorizer allows principals whose ref, or one of whose ownership
// refs (their groups), is listed; and the local development user.
type ReadersAuthorizer struct {
	Readers []string
}

// Authorize implements Authorizer.
func (a ReadersAuthorizer) Authorize(ctx context.Context, _ string) (bool, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil || p.Type == auth.PrincipalNone {
		return false, nil
	}
	if p.Via == "dev" {
		return true, nil
	}
	for _, r := range a.Readers {
		if strings.EqualFold(r, p.Ref) || slices.ContainsFunc(p.OwnershipRefs, func(o string) bool { return strings.EqualFold(o, r) }) {
			return true, nil
		}
	}
	return false, nil
}

// API serves the audit log: GET /api/audit/events (filtered, paged, newest
// first) and GET /api/audit/export (JSON Lines, oldest first).
type API struct {
	Log        *Log
	Authorizer Authorizer
	// MaxPageSize bounds limit (default 500); MaxExport bounds one export.
	MaxPageSize int
	MaxExport   int
}

// Register adds the audit routes.
func (a *API) Register(mux web.Mux) {
	mux.HandleFunc("GET /api/audit/events", a.events)
	mux.HandleFunc("GET /api/audit/export", a.export)
}

// Query is a parsed audit filter.
type Query struct {
	store.AuditListParams
}

// ParseQuery reads actor, action, resource, outcome, from, to (RFC 3339),
// limit and cursor from URL query values.
func ParseQuery(v map[string][]string, maxLimit int) (Query, error) {
	get := func(k string) string {
		if s := v[k]; len(s) > 0 {
			return s[0]
		}
		return ""
	}
	var q Query
	q.Actor, q.Action, q.Resource, q.Outcome = get("actor"), get("action"), get("resource"), get("outcome")
	if q.Outcome != "" && !Outcome(q.Outcome).Valid() {
		return q, fault.New(fault.Invalid, "outcome must be allowed, denied, failed or succeeded, got %q", q.Outcome)
	}
	for _, f := range []struct {
		key string
		out *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := get(f.key); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, fault.New(fault.Invalid, "%s must be an RFC 3339 time such as 2026-03-01T10:00:00Z, got %q", f.key, s)
			}
			*f.out = t
		}
	}
	q.Limit = 50
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return q, fault.New(fault.Invalid, "limit must be a number from 1 to %d, got %q", maxLimit, s)
		}
		q.Limit = n
	}
	if s := get("cursor"); s != "" {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		seq, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), "before:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "before:") || seq < 1 {
			return q, fault.New(fault.Invalid, "cursor is not one this API gave out")
		}
		q.Before = seq
	}
	return q, nil
}

func (a *API) allowed(w http.ResponseWriter, r *http.Request) bool {
	p := auth.PrincipalFrom(r.Context())
	if p == nil || p.Type == auth.PrincipalNone {
		web.WriteError(w, r, fault.New(fault.Unauthorized, "reading the audit log needs a signed-in user or a token"))
		return false
	}
	ok, err := a.Authorizer.Authorize(r.Context(), PermissionRead)
	if err != nil {
		web.WriteError(w, r, err)
		return false
	}
	if !ok {
		web.WriteError(w, r, fault.New(fault.Forbidden, "reading the audit log needs the %s permission", PermissionRead))
		return false
	}
	return true
}

// EventsPage is the answer of GET /api/audit/events.
type EventsPage struct {
	Items      []Entry `json:"items"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

func (a *API) maxPage() int {
	if a.MaxPageSize > 0 {
		return a.MaxPageSize
	}
	return 500
}

func (a *API) events(w http.ResponseWriter, r *http.Request) {
	if !a.allowed(w, r) {
		return
	}
	q, err := ParseQuery(r.URL.Query(), a.maxPage())
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	page, err := a.Log.List(r.Context(), q)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, page)
}

// List returns one page of entries, newest first.
func (l *Log) List(ctx context.Context, q Query) (EventsPage, error) {
	p := q.AuditListParams
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	p.Limit = limit + 1
	recs, err := l.p.Store.AuditList(ctx, p)
	if err != nil {
		return EventsPage{}, err
	}
	page := EventsPage{Items: []Entry{}}
	for i, rec := range recs {
		if i == limit {
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("before:" + strconv.FormatInt(recs[i-1].Seq, 10)))
			break
		}
		page.Items = append(page.Items, entryOf(rec))
	}
	return page, nil
}

// entryOf decodes a stored record. A record whose body does not decode is
// shown with what its columns say; Verify reports it.
func entryOf(rec store.AuditRecord) Entry {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(rec.Body))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		e = Entry{Event: Event{Actor: Actor{Ref: rec.Actor}, Action: rec.Action, Resource: rec.Resource,
			Outcome: Outcome(rec.Outcome), RequestID: rec.RequestID, Time: rec.Time}}
	}
	e.Seq, e.PrevHash, e.Hash = rec.Seq, rec.PrevHash, rec.Hash
	return e
}

func (a *API) export(w http.ResponseWriter, r *http.Request) {
	if !a.allowed(w, r) {
		return
	}
	q, err := ParseQuery(r.URL.Query(), a.maxPage())
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	max := a.MaxExport
	if max <= 0 {
		max = 1_000_000
	}
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="atrium-audit.jsonl"`)
	bw := bufio.NewWriter(w)
	if _, err := a.Log.Export(r.Context(), q, max, bw); err != nil {
		// The answer has started: cutting it short is the only signal left.
		web.Logger(r.Context()).Error("audit export failed", "error", err.Error())
		panic(http.ErrAbortHandler)
	}
	_ = bw.Flush()
}

// Export writes the entries matching q (its Limit and cursor are ignored),
// oldest first, one JSON object per line, at most max of them, and returns
// how many it wrote. Each line carries its hash and previous hash, so an
// export of the whole log can be checked on its own.
func (l *Log) Export(ctx context.Context, q Query, max int, w interface{ Write([]byte) (int, error) }) (int, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	var after int64
	for {
		recs, err := l.p.Store.AuditScan(ctx, after, verifyBatch)
		if err != nil {
			return n, err
		}
		for _, rec := range recs {
			after = rec.Seq
			if !q.match(rec) {
				continue
			}
			if n == max {
				return n, fault.New(fault.TooLarge, "the export has more than %d records; narrow it with from and to", max)
			}
			if err := enc.Encode(entryOf(rec)); err != nil {
				return n, err
			}
			n++
		}
		if len(recs) < verifyBatch {
			return n, nil
		}
	}
}

func (q Query) match(rec store.AuditRecord) bool {
	p := q.AuditListParams
	switch {
	case p.Actor != "" && rec.Actor != p.Actor,
		p.Action != "" && rec.Action != p.Action,
		p.Resource != "" && !strings.HasPrefix(rec.Resource, p.Resource),
		p.Outcome != "" && rec.Outcome != p.Outcome,
		!p.From.IsZero() && rec.Time.Before(p.From),
		!p.To.IsZero() && !rec.Time.Before(p.To):
		return false
	}
	return true
}
