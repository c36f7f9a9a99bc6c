package ui

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
)

// hub serves the live-update stream: one engine subscription per open
// stream, a bounded number of streams, a heartbeat so proxies keep the
// connection open.
type hub struct {
	subscribe func(buffer int) (<-chan engine.ChangeEvent, func())
	// cards, when set, adds the changes of plugin cards (Params.CardEvents).
	cards     func(buffer int) (<-chan engine.ChangeEvent, func())
	max       int64
	open      atomic.Int64
	heartbeat time.Duration
	log       *slog.Logger
}

func newHub(subscribe func(int) (<-chan engine.ChangeEvent, func()), max int, heartbeat time.Duration, log *slog.Logger) *hub {
	return &hub{subscribe: subscribe, max: int64(max), heartbeat: heartbeat, log: log}
}

// change is the JSON of one "change" event.
type change struct {
	Kind     string   `json:"kind"`
	Refs     []string `json:"refs"`
	Count    int      `json:"count"`
	Overflow bool     `json:"overflow,omitempty"`
}

// maxStreamRefs caps the refs one stream may watch.
const maxStreamRefs = 50

// maxEventRefs caps the refs listed in one event; the count still shows.
const maxEventRefs = 100

// serve streams change events as text/event-stream until the client goes
// away. With ref parameters, only events about those entities are sent.
func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	if h.subscribe == nil {
		http.Error(w, "Live updates are not available on this server.", http.StatusServiceUnavailable)
		return
	}
	watch := map[string]bool{}
	for _, s := range r.URL.Query()["ref"] {
		ref, err := catalog.ParseRef(s, catalog.RefDefaults{})
		if err != nil {
			http.Error(w, fmt.Sprintf("ref %q is not an entity ref: %v", s, err), http.StatusBadRequest)
			return
		}
		watch[ref.String()] = true
	}
	if len(watch) > maxStreamRefs {
		http.Error(w, fmt.Sprintf("a stream may watch at most %d refs; this one asked for %d", maxStreamRefs, len(watch)), http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported by this connection", http.StatusInternalServerError)
		return
	}
	if h.open.Add(1) > h.max {
		h.open.Add(-1)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "Too many live-update streams are open; try again shortly.", http.StatusServiceUnavailable)
		return
	}
	defer h.open.Add(-1)
	// The request timeout middleware does not apply to streams: they end
	// when the client leaves or the server shuts down.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})

	events, cancel := h.subscribe(64)
	defer cancel()
	var cardEvents <-chan engine.ChangeEvent
	if h.cards != nil {
		ch, cancelCards := h.cards(16)
		defer cancelCards()
		cardEvents = ch
	}

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The retry hint tells EventSource how long to wait before reconnecting.
	if _, err := fmt.Fprint(w, "retry: 3000\n: connected\n\n"); err != nil {
		return
	}
	flusher.Flush()

	tick := time.NewTicker(h.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case ev, ok := <-cardEvents:
			if !ok {
				cardEvents = nil
				continue
			}
			if !h.send(w, flusher, ev, watch) {
				return
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			if !h.send(w, flusher, ev, watch) {
				return
			}
		}
	}
}

// send writes ev as a "change" event when the stream watches its refs;
// false when the client is gone.
func (h *hub) send(w http.ResponseWriter, flusher http.Flusher, ev engine.ChangeEvent, watch map[string]bool) bool {
	c, send := filterEvent(ev, watch)
	if !send {
		return true
	}
	b, err := json.Marshal(c)
	if err != nil {
		h.log.Error("encoding a change event", "error", err.Error())
		return true
	}
	if _, err := fmt.Fprintf(w, "event: change\ndata: %s\n\n", b); err != nil {
		return false
	}
	flusher.Flush()
	return true
}

// filterEvent keeps the refs a stream watches (all when it watches none);
// an overflow always goes out, since anything may have changed.
func filterEvent(ev engine.ChangeEvent, watch map[string]bool) (change, bool) {
	c := change{Kind: string(ev.Kind), Overflow: ev.Overflow}
	if len(watch) == 0 {
		c.Refs, c.Count = ev.Refs, len(ev.Refs)
		if len(c.Refs) > maxEventRefs {
			// Listeners that want everything only count; Count stays right.
			c.Refs = ev.Refs[:maxEventRefs]
		}
		return c, true
	}
	for _, ref := range ev.Refs {
		if watch[strings.ToLower(ref)] {
			c.Refs = append(c.Refs, ref)
		}
	}
	c.Count = len(c.Refs)
	return c, len(c.Refs) > 0 || c.Overflow
}
