package kubesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// event is one change of an object, kept for watches.
type event struct {
	rv       int
	typ      string
	resource string
	obj      map[string]any
}

func isWatch(q url.Values) bool {
	v := q.Get("watch")
	return v == "1" || v == "true"
}

// record keeps a change for watches and wakes them; the caller holds s.mu.
func (s *Sim) record(typ, resource string, obj map[string]any) {
	s.events = append(s.events, event{rv: s.rv, typ: typ, resource: resource, obj: clone(obj)})
	if max := s.WatchHistory; max > 0 && len(s.events) > max {
		s.events = append([]event(nil), s.events[len(s.events)-max:]...)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// remove deletes a stored object as a new version (a DELETED event) and
// returns it; the caller holds s.mu.
func (s *Sim) remove(key string) map[string]any {
	o := s.objs[key]
	if o == nil {
		return nil
	}
	delete(s.objs, key)
	delete(s.owners, key)
	s.rv++
	o = clone(o)
	setIn(o, strconv.Itoa(s.rv), "metadata", "resourceVersion")
	resource, _, _ := strings.Cut(key, "/")
	s.record("DELETED", resource, o)
	return o
}

// watch streams the changes of res in ns (all when empty) matching sel,
// after the request's resourceVersion (from now on, after the objects as
// ADDED events, when it is empty or "0" or when sendInitialEvents asks
// for a streaming list, ended by an initial-events-end bookmark), until
// the client leaves or timeoutSeconds pass. It is entered holding s.mu and releases it.
func (s *Sim) watch(w http.ResponseWriter, r *http.Request, res Resource, ns string, sel labels.Selector) {
	q := r.URL.Query()
	matches := func(o map[string]any) bool {
		if ns != "" && str(o, "metadata", "namespace") != ns {
			return false
		}
		lbl := labels.Set{}
		if m, ok := dig(o, "metadata", "labels").(map[string]any); ok {
			for k, v := range m {
				lbl[k], _ = v.(string)
			}
		}
		return sel.Matches(lbl)
	}
	var pending []map[string]any
	from := 0
	switch v := q.Get("resourceVersion"); {
	case q.Get("sendInitialEvents") == "true":
		// A streaming list (client-go's WatchListClient): the objects as
		// ADDED events, then a bookmark marking the end of them.
		if q.Get("resourceVersionMatch") != "NotOlderThan" || q.Get("allowWatchBookmarks") != "true" {
			s.mu.Unlock()
			writeStatus(w, statusErr(422, "Invalid", "sendInitialEvents requires resourceVersionMatch=NotOlderThan and allowWatchBookmarks=true"))
			return
		}
		for _, it := range s.list(res, ns, sel)["items"].([]any) {
			pending = append(pending, map[string]any{"type": "ADDED", "object": clone(it.(map[string]any))})
		}
		from = s.rv
		pending = append(pending, map[string]any{"type": "BOOKMARK", "object": map[string]any{"kind": res.Kind, "apiVersion": res.groupVersion(),
			"metadata": map[string]any{"resourceVersion": strconv.Itoa(from), "annotations": map[string]any{"k8s.io/initial-events-end": "true"}}}})
	case v == "" || v == "0":
		// As the API server: the current state first, as ADDED events.
		for _, it := range s.list(res, ns, sel)["items"].([]any) {
			pending = append(pending, map[string]any{"type": "ADDED", "object": clone(it.(map[string]any))})
		}
		from = s.rv
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.mu.Unlock()
			writeStatus(w, statusErr(400, "BadRequest", fmt.Sprintf("resourceVersion: %q is not a resource version", v)))
			return
		}
		from = n
		oldest := s.rv
		if len(s.events) > 0 {
			oldest = s.events[0].rv
		}
		if n < oldest-1 && n < s.rv {
			// Older than the history kept: the API server answers the
			// watch with an ERROR event carrying 410 Expired.
			pending = append(pending, map[string]any{"type": "ERROR", "object": statusErr(410, "Expired", fmt.Sprintf("too old resource version: %d (%d)", n, oldest-1))})
			from = -1
		}
	}
	s.mu.Unlock()

	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(evs []map[string]any) bool {
		for _, ev := range evs {
			if err := enc.Encode(ev); err != nil {
				return false
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !send(pending) || from < 0 {
		return
	}
	timeout := time.Duration(1<<62 - 1)
	if t, err := strconv.Atoi(q.Get("timeoutSeconds")); err == nil && t > 0 {
		timeout = time.Duration(t) * time.Second
	}
	end := time.NewTimer(timeout)
	defer end.Stop()
	tick := s.Tick
	if tick <= 0 {
		tick = 100 * time.Millisecond
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	lastBookmark := time.Now()
	for {
		s.mu.Lock()
		s.reconcile()
		var out []map[string]any
		for _, ev := range s.events {
			if ev.rv <= from || ev.resource != res.Resource || !matches(ev.obj) {
				continue
			}
			out = append(out, map[string]any{"type": ev.typ, "object": clone(ev.obj)})
		}
		if s.rv > from {
			from = s.rv
		}
		wake := s.changed
		s.mu.Unlock()
		if bookmarks && len(out) == 0 && time.Since(lastBookmark) > 10*tick {
			lastBookmark = time.Now()
			out = append(out, map[string]any{"type": "BOOKMARK", "object": map[string]any{"kind": res.Kind, "apiVersion": res.groupVersion(),
				"metadata": map[string]any{"resourceVersion": strconv.Itoa(from)}}})
		}
		if len(out) > 0 && !send(out) {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-wake:
		case <-ticker.C:
		}
	}
}
