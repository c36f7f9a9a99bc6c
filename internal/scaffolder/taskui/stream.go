package taskui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/web"
)

// events serves GET /create/tasks/{id}/events: the task's events after
// ?after= (or the Last-Event-ID a reconnecting EventSource sends) as
// Server-Sent Events, each with its id, until the completion event. It
// waits on the service's long poll, so a stream costs nothing between
// events; keep-alive comments go out every Limits.Heartbeat.
func (pg *Pages) events(w http.ResponseWriter, r *http.Request) {
	t := pg.load(w, r)
	if t == nil {
		return
	}
	after, err := afterOf(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	select {
	case pg.streams <- struct{}{}:
		defer func() { <-pg.streams }()
	default:
		web.WriteError(w, r, fault.New(fault.RateLimited, "too many task streams are open (limit %d); reload the page to see the task's progress", cap(pg.streams)))
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// A client that reconnects waits a little before trying again.
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	_ = rc.Flush()
	ctx := r.Context()
	for {
		evs, err := pg.p.Service.Events(ctx, t.ID, after, pg.p.Limits.Heartbeat)
		if err != nil {
			return
		}
		if len(evs) == 0 {
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			_ = rc.Flush()
			continue
		}
		for _, ev := range evs {
			data, err := json.Marshal(ev)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data); err != nil {
				return
			}
			after = ev.ID
			if ev.Type == scaffolder.EventCompletion {
				_ = rc.Flush()
				return
			}
		}
		_ = rc.Flush()
	}
}

// afterOf reads where a stream starts: Last-Event-ID, else ?after=.
func afterOf(r *http.Request) (int64, error) {
	v, what := r.Header.Get("Last-Event-ID"), "the Last-Event-ID header"
	if v == "" {
		v, what = r.URL.Query().Get("after"), "after"
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fault.New(fault.Invalid, "%s must be a non-negative event id, got %q", what, v)
	}
	return n, nil
}
