package api

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// offsetCursor is the `after` cursor of GET /entities: where the next page
// starts, as in Backstage.
type offsetCursor struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// getEntities serves GET /entities: every matching entity as one streamed
// array, or one page when limit, offset or after is given.
func (a *API) getEntities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, err := catalog.ParseFilterParams(q["filter"])
	if err != nil {
		writeErr(w, r, invalid(err, "invalid filter"))
		return
	}
	fields := splitList(q["fields"])
	order, thenBy, err := parseOrderParams(q["order"])
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !q.Has("limit") && !q.Has("offset") && !q.Has("after") {
		a.streamEntities(w, r, engine.Query{Filter: filter, Order: order, ThenBy: thenBy}, fields)
		return
	}
	page := offsetCursor{Limit: -1}
	if q.Has("after") {
		page, err = decodeOffsetCursor(q.Get("after"))
		if err != nil {
			writeErr(w, r, err)
			return
		}
	}
	if q.Has("offset") {
		n, err := strconv.Atoi(q.Get("offset"))
		if err != nil || n < 0 {
			writeErr(w, r, fault.New(fault.Invalid, "offset must be a whole number of 0 or more, got %q", q.Get("offset")))
			return
		}
		page.Offset = n
	}
	if q.Has("limit") {
		n, err := a.parseLimit(q.Get("limit"), false)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		page.Limit = n
	}
	if page.Limit < 0 {
		page.Limit = a.lim.MaxPageSize
	}
	res, err := a.entities(r, engine.Query{Filter: filter, Order: order, ThenBy: thenBy, Offset: page.Offset, Limit: page.Limit}, fields)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if res.HasMore {
		next := url.Values{}
		for k, v := range q {
			if k != "offset" && k != "after" && k != "limit" {
				next[k] = v
			}
		}
		next.Set("limit", strconv.Itoa(page.Limit))
		next.Set("after", encodeOffsetCursor(offsetCursor{Limit: page.Limit, Offset: page.Offset + len(res.Items)}))
		w.Header().Set("Link", "<"+Prefix+"/entities?"+next.Encode()+`>; rel="next"`)
	}
	items := make([][]byte, 0, len(res.Items))
	size := 2
	for _, e := range res.Items {
		b, err := e.encode(fields)
		if err != nil {
			writeErr(w, r, invalid(err, "invalid fields"))
			return
		}
		items = append(items, b)
		size += len(b) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, '[')
	for i, b := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, b...)
	}
	writeRaw(w, append(out, ']'))
}

// listedEntity is one item of a page: final JSON from the raw path, or a
// decoded entity.
type listedEntity struct {
	raw *engine.Raw
	ent *catalog.Entity
}

// encode returns the item's JSON, projected to fields when given (a raw
// item is projected already, see entities).
func (l listedEntity) encode(fields []string) ([]byte, error) {
	if l.raw != nil {
		return l.raw.JSON, nil
	}
	e := l.ent
	if e == nil {
		var err error
		if e, err = l.raw.Entity(); err != nil {
			return nil, err
		}
	}
	return marshalProjected(e, fields)
}

// listedPage is a page of listedEntity.
type listedPage struct {
	Items   []listedEntity
	HasMore bool
	Last    *store.Position
}

// entities reads one page, as final JSON when the catalog can serve it,
// projected to fields from that JSON (as marshalProjected encodes a
// projection: HTML characters escaped).
func (a *API) entities(r *http.Request, q engine.Query, fields []string) (*listedPage, error) {
	if a.raw != nil {
		p, err := a.raw.EntitiesRaw(r.Context(), q)
		if err != nil {
			return nil, err
		}
		items := p.Items
		if len(fields) > 0 {
			if items, err = engine.ProjectRaw(items, fields); err != nil {
				return nil, invalid(err, "invalid fields")
			}
		}
		out := &listedPage{HasMore: p.HasMore, Last: p.Last, Items: make([]listedEntity, len(items))}
		for i, raw := range items {
			if len(fields) > 0 && bytes.ContainsAny(raw.JSON, "<>&") {
				var buf bytes.Buffer
				json.HTMLEscape(&buf, raw.JSON)
				raw = &engine.Raw{Ref: raw.Ref, UID: raw.UID, JSON: buf.Bytes()}
			}
			out.Items[i].raw = raw
		}
		return out, nil
	}
	p, err := a.cat.Entities(r.Context(), q)
	if err != nil {
		return nil, err
	}
	out := &listedPage{HasMore: p.HasMore, Last: p.Last, Items: make([]listedEntity, len(p.Items))}
	for i, e := range p.Items {
		out.Items[i].ent = e
	}
	return out, nil
}

// streamEntities writes every entity matching q as one JSON array, reading
// the engine page by page and flushing each page, so that memory stays
// bounded whatever the catalog's size. An error after the first byte cuts
// the connection: a truncated array is an honest failure, a short valid one
// would not be.
func (a *API) streamEntities(w http.ResponseWriter, r *http.Request, q engine.Query, fields []string) {
	q.Limit = a.lim.StreamPageSize
	rc := http.NewResponseController(w)
	var bw *bufio.Writer
	first := true
	for {
		page, err := a.entities(r, q, fields)
		if err != nil {
			if bw == nil {
				writeErr(w, r, err)
				return
			}
			web.Logger(r.Context()).Error("streaming entities failed", "error", err.Error())
			panic(http.ErrAbortHandler)
		}
		if bw == nil {
			if len(fields) > 0 && len(page.Items) > 0 {
				// Check the projection once before committing to 200.
				if _, err := page.Items[0].encode(fields); err != nil {
					writeErr(w, r, invalid(err, "invalid fields"))
					return
				}
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			bw = bufio.NewWriterSize(w, 64<<10)
			bw.WriteByte('[')
		}
		for _, e := range page.Items {
			b, err := e.encode(fields)
			if err != nil {
				web.Logger(r.Context()).Error("encoding entity", "error", err.Error())
				panic(http.ErrAbortHandler)
			}
			if !first {
				bw.WriteByte(',')
			}
			first = false
			bw.Write(b)
		}
		if !page.HasMore || len(page.Items) == 0 {
			break
		}
		if err := bw.Flush(); err != nil {
			return // the client went away
		}
		_ = rc.Flush()
		if page.Last != nil && len(q.ThenBy) == 0 {
			q.After, q.Offset = page.Last, 0
		} else {
			q.Offset += len(page.Items)
		}
	}
	bw.WriteString("]\n")
	_ = bw.Flush()
}

func marshalProjected(e *catalog.Entity, fields []string) ([]byte, error) {
	p, err := project(e, fields)
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

func encodeOffsetCursor(c offsetCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeOffsetCursor(s string) (offsetCursor, error) {
	var c offsetCursor
	if s == "" {
		return c, fault.New(fault.Invalid, "after must not be empty")
	}
	b, err := decodeBase64(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Limit <= 0 || c.Offset < 0 {
		return c, fault.New(fault.Invalid, "after is not a cursor this server issued")
	}
	return c, nil
}

// decodeBase64 accepts URL-safe and standard base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// parseLimit reads a page size; zero is allowed only where a count alone
// makes sense.
func (a *API) parseLimit(s string, allowZero bool) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	low := 1
	if allowZero {
		low = 0
	}
	if err != nil || n < low {
		return 0, fault.New(fault.Invalid, "limit must be a whole number of %d or more, got %q", low, s)
	}
	if n > a.lim.MaxPageSize {
		return 0, fault.New(fault.Invalid, "limit must not exceed %d, got %d", a.lim.MaxPageSize, n)
	}
	return n, nil
}

// parseOrderParams reads GET /entities' order parameters (asc:path or
// desc:path, repeated or comma-separated): the first is the primary sort
// key, the others break its ties in turn, as in Backstage.
func parseOrderParams(values []string) (*store.Order, []store.Order, error) {
	var orders []store.Order
	for _, v := range splitList(values) {
		dir, field, ok := strings.Cut(v, ":")
		field = strings.ToLower(strings.TrimSpace(field))
		if !ok || field == "" || (dir != "asc" && dir != "desc") {
			return nil, nil, fault.New(fault.Invalid, "order must be asc:<field> or desc:<field>, got %q", v)
		}
		orders = append(orders, store.Order{Field: field, Desc: dir == "desc"})
	}
	if len(orders) > maxOrderKeys {
		return nil, nil, fault.New(fault.Invalid, "at most %d order parameters are allowed, got %d", maxOrderKeys, len(orders))
	}
	if len(orders) == 0 {
		return nil, nil, nil
	}
	return &orders[0], orders[1:], nil
}

// maxOrderKeys bounds the sort keys of one GET /entities request.
const maxOrderKeys = 10
