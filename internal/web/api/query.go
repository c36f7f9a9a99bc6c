package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/web"
)

// queryRequest is a by-query request, from query parameters or a body.
type queryRequest struct {
	cursor        *queryCursor
	filter        *catalog.Filter
	order         *store.Order
	fullText      *store.FullText
	offset        int
	limit         int
	excludeTotals bool
	fields        []string
}

// queryResponse is the by-query answer.
type queryResponse struct {
	Items      []any    `json:"items"`
	TotalItems *int     `json:"totalItems,omitempty"`
	PageInfo   pageInfo `json:"pageInfo"`
}

type pageInfo struct {
	NextCursor string `json:"nextCursor,omitempty"`
	PrevCursor string `json:"prevCursor,omitempty"`
}

// getEntitiesByQuery serves GET /entities/by-query.
func (a *API) getEntitiesByQuery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := queryRequest{limit: a.lim.DefaultPageSize, fields: splitList(q["fields"])}
	var err error
	if q.Has("limit") {
		if req.limit, err = a.parseLimit(q.Get("limit"), true); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	if q.Has("cursor") {
		if req.cursor, err = decodeCursor(q.Get("cursor")); err != nil {
			writeErr(w, r, err)
			return
		}
		a.runQuery(w, r, req)
		return
	}
	if req.filter, err = catalog.ParseFilterParams(q["filter"]); err != nil {
		writeErr(w, r, invalid(err, "invalid filter"))
		return
	}
	if v := q["orderField"]; len(v) > 0 {
		// Only the first order field is honoured, as in Backstage.
		field, dir, _ := strings.Cut(v[0], ",")
		if req.order, err = parseOrder(field, dir); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	req.fullText = parseFullText(q.Get("fullTextFilterTerm"), splitList(q["fullTextFilterFields"]))
	if q.Has("offset") {
		n, err := strconv.Atoi(q.Get("offset"))
		if err != nil || n < 0 {
			writeErr(w, r, fault.New(fault.Invalid, "offset must be a whole number of 0 or more, got %q", q.Get("offset")))
			return
		}
		req.offset = n
	}
	if req.excludeTotals, err = parseTotalItems(q.Get("totalItems")); err != nil {
		writeErr(w, r, err)
		return
	}
	a.runQuery(w, r, req)
}

// queryBody is the body of POST /entities/by-query.
type queryBody struct {
	Cursor  *string `json:"cursor"`
	Limit   *int    `json:"limit"`
	Offset  *int    `json:"offset"`
	OrderBy []struct {
		Field string `json:"field"`
		Order string `json:"order"`
	} `json:"orderBy"`
	FullTextFilter *struct {
		Term   string   `json:"term"`
		Fields []string `json:"fields"`
	} `json:"fullTextFilter"`
	Fields     []string        `json:"fields"`
	TotalItems string          `json:"totalItems"`
	Query      json.RawMessage `json:"query"`
}

// postEntitiesByQuery serves POST /entities/by-query (the predicate form).
func (a *API) postEntitiesByQuery(w http.ResponseWriter, r *http.Request) {
	var body queryBody
	if err := readJSON(r, &body); err != nil {
		writeErr(w, r, err)
		return
	}
	req := queryRequest{limit: a.lim.DefaultPageSize, fields: splitList(body.Fields)}
	var err error
	if body.Limit != nil {
		if req.limit, err = a.parseLimit(strconv.Itoa(*body.Limit), true); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	if body.Cursor != nil {
		if req.cursor, err = decodeCursor(*body.Cursor); err != nil {
			writeErr(w, r, err)
			return
		}
		a.runQuery(w, r, req)
		return
	}
	if len(body.Query) > 0 && string(body.Query) != "null" {
		if req.filter, err = catalog.ParsePredicate(body.Query); err != nil {
			writeErr(w, r, invalid(err, "invalid query"))
			return
		}
	}
	if len(body.OrderBy) > 0 {
		if req.order, err = parseOrder(body.OrderBy[0].Field, body.OrderBy[0].Order); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	if ft := body.FullTextFilter; ft != nil {
		req.fullText = parseFullText(ft.Term, ft.Fields)
	}
	if body.Offset != nil {
		if *body.Offset < 0 {
			writeErr(w, r, fault.New(fault.Invalid, "offset must be 0 or more, got %d", *body.Offset))
			return
		}
		req.offset = *body.Offset
	}
	if req.excludeTotals, err = parseTotalItems(body.TotalItems); err != nil {
		writeErr(w, r, err)
		return
	}
	a.runQuery(w, r, req)
}

// runQuery fetches one page and builds the cursors around it.
func (a *API) runQuery(w http.ResponseWriter, r *http.Request, req queryRequest) {
	q := engine.Query{Filter: req.filter, Order: req.order, FullText: req.fullText, Offset: req.offset, Limit: req.limit}
	dir := dirNext
	var total *int
	if c := req.cursor; c != nil {
		q = engine.Query{Filter: c.Filter, Order: c.Order, FullText: c.FullText, Limit: req.limit}
		dir = c.Direction
		if dir == dirPrev {
			q.Before = c.Position
		} else {
			q.After = c.Position
		}
		total = c.TotalItems
	} else {
		q.CountTotal = !req.excludeTotals
	}
	if q.Limit == 0 {
		// A count alone: the engine reads no page (CountOnly); the
		// decoded path has no such flag and fetches the least it can.
		q.Limit = 1
		q.CountOnly = q.CountTotal
	}
	var page *engine.Page
	var rawPage *engine.RawPage
	var err error
	if a.raw != nil && (len(req.fields) == 0 || req.limit == 0) {
		rawPage, err = a.raw.EntitiesRaw(r.Context(), q)
	} else if a.raw != nil {
		// The engine projects (and caches) the page; a catalog that
		// cannot is answered through the decoded path.
		pq := q
		pq.Fields = req.fields
		if rawPage, err = a.raw.EntitiesRaw(r.Context(), pq); err == nil && !rawPage.Projected {
			rawPage = nil
			page, err = a.cat.Entities(r.Context(), q)
		}
	} else {
		page, err = a.cat.Entities(r.Context(), q)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if rawPage != nil {
		page = &engine.Page{HasMore: rawPage.HasMore, Total: rawPage.Total, First: rawPage.First, Last: rawPage.Last}
	}
	if req.cursor == nil && q.CountTotal {
		n := page.Total
		total = &n
	}
	resp := queryResponse{Items: []any{}, TotalItems: total}
	if req.limit == 0 {
		web.WriteJSON(w, http.StatusOK, resp)
		return
	}
	n := 0
	if rawPage != nil {
		n = len(rawPage.Items)
	} else {
		for _, e := range page.Items {
			p, err := project(e, req.fields)
			if err != nil {
				writeErr(w, r, invalid(err, "invalid fields"))
				return
			}
			resp.Items = append(resp.Items, p)
		}
		n = len(page.Items)
	}
	cursor := func(pos *store.Position, d string) string {
		return encodeCursor(queryCursor{Filter: q.Filter, Order: q.Order, FullText: q.FullText, Position: pos, Direction: d, TotalItems: total})
	}
	hasNext, hasPrev := page.HasMore, req.cursor != nil || req.offset > 0
	if dir == dirPrev {
		hasNext, hasPrev = true, page.HasMore
	}
	if hasNext && page.Last != nil && n > 0 {
		resp.PageInfo.NextCursor = cursor(page.Last, dirNext)
	}
	if hasPrev && page.First != nil && n > 0 {
		resp.PageInfo.PrevCursor = cursor(page.First, dirPrev)
	}
	if rawPage != nil {
		writeRawQuery(w, rawPage.Items, resp)
		return
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

func parseOrder(field, dir string) (*store.Order, error) {
	field = strings.ToLower(strings.TrimSpace(field))
	dir = strings.ToLower(strings.TrimSpace(dir))
	if field == "" {
		return nil, fault.New(fault.Invalid, "order field must not be empty")
	}
	switch dir {
	case "", "asc":
		return &store.Order{Field: field}, nil
	case "desc":
		return &store.Order{Field: field, Desc: true}, nil
	}
	return nil, fault.New(fault.Invalid, "order of %s must be asc or desc, got %q", field, dir)
}

func parseFullText(term string, fields []string) *store.FullText {
	term = strings.TrimSpace(term)
	if term == "" {
		return nil
	}
	ft := &store.FullText{Term: term}
	for _, f := range fields {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			ft.Fields = append(ft.Fields, f)
		}
	}
	return ft
}

func parseTotalItems(s string) (exclude bool, err error) {
	switch s {
	case "", "include":
		return false, nil
	case "exclude":
		return true, nil
	}
	return false, fault.New(fault.Invalid, "totalItems must be include or exclude, got %q", s)
}
