package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
)

// writeRaw answers 200 with JSON the engine encoded already, as WriteJSON
// would (a trailing newline included), without decoding it again.
func writeRaw(w http.ResponseWriter, b []byte) { writeAnswer(w, b, newline) }

// writeEntity answers 200 with one entity's final JSON, as writeRaw does,
// in one Write when the engine left room for the newline (Line), and hands
// raw back to the engine (Release): the writer has copied it then.
func writeEntity(w http.ResponseWriter, raw *engine.Raw) {
	defer raw.Release()
	if line := raw.Line(); line != nil {
		writeAnswer(w, line, nil)
		return
	}
	writeAnswer(w, raw.JSON, newline)
}

// writeAnswer answers 200 with the JSON body followed by tail.
func writeAnswer(w http.ResponseWriter, body, tail []byte) {
	// Canonical keys set directly, the content type's value shared by
	// every answer (capacity 1: an Add copies instead of appending into
	// it), as SecurityHeaders does: fewer allocations than Header.Set.
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if n := len(body) + len(tail); n > autoContentLength {
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if len(tail) > 0 {
		_, _ = w.Write(tail)
	}
}

// autoContentLength is the largest answer to which net/http's server adds
// Content-Length itself: one that is all in its buffer when the handler
// returns (bufferBeforeChunkingSize). Most entities are smaller; setting
// the header for them cost two allocations per answer (the value and its
// slice) and net/http's parse of it. Larger answers (pages) set it.
const autoContentLength = 2048

var (
	jsonContentType = []string{"application/json; charset=utf-8"}[:1:1]
	newline         = []byte{'\n'}
)

// pageBufs recycles the buffers pages are assembled in: a page is tens to
// hundreds of KiB (a team's 23 components at 100k entities: 28 KiB) that
// would otherwise be allocated, and collected, per request. Writers only
// copy what they are given, so a buffer is free again once written.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledPage bounds the buffers kept for reuse, so that one very large
// page does not stay in memory.
const maxPooledPage = 1 << 20

// writeRawQuery answers a by-query page whose items are final JSON: the
// items are copied, the rest of resp (totalItems, pageInfo) is encoded.
func writeRawQuery(w http.ResponseWriter, items []*engine.Raw, resp queryResponse) {
	size := 64
	for _, it := range items {
		size += len(it.JSON) + 1
	}
	buf := pageBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			pageBufs.Put(buf)
		}
	}()
	buf.Grow(size + 512)
	buf.WriteString(`{"items":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it.JSON)
	}
	buf.WriteByte(']')
	if resp.TotalItems != nil {
		buf.WriteString(`,"totalItems":`)
		buf.WriteString(strconv.Itoa(*resp.TotalItems))
	}
	pi, _ := json.Marshal(resp.PageInfo)
	buf.WriteString(`,"pageInfo":`)
	buf.Write(pi)
	buf.WriteByte('}')
	writeRaw(w, buf.Bytes())
}

// writeRawByRefs answers a by-refs request from final JSON: the catalog
// authorizes each entity (nil when the caller may not read it, or when it
// is missing or filtered out), the items are projected to fields by the
// engine when given, and copied into the answer otherwise.
func (a *API) writeRawByRefs(w http.ResponseWriter, r *http.Request, rr engine.RawByRefs, refs []string, filter *catalog.Filter, fields []string) {
	items, err := rr.EntitiesRawByRefs(r.Context(), refs, filter)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if len(fields) > 0 {
		if items, err = engine.ProjectRaw(items, fields); err != nil {
			writeErr(w, r, invalid(err, "invalid fields"))
			return
		}
	}
	size := 16
	for _, it := range items {
		size += 5
		if it != nil {
			size += len(it.JSON)
		}
	}
	buf := pageBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			pageBufs.Put(buf)
		}
	}()
	buf.Grow(size)
	buf.WriteString(`{"items":[`)
	for i := range refs {
		if i > 0 {
			buf.WriteByte(',')
		}
		if i < len(items) && items[i] != nil {
			buf.Write(items[i].JSON)
		} else {
			buf.WriteString("null")
		}
	}
	buf.WriteString("]}")
	writeRaw(w, buf.Bytes())
}
