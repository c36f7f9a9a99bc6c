package api

import (
	"encoding/base64"
	"encoding/json"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

// The directions a cursor pages in.
const (
	dirNext = "next"
	dirPrev = "prev"
)

// queryCursor is the opaque by-query cursor: everything the first request
// asked for, plus where the next (or previous) page starts. It is base64url
// JSON; clients must not rely on its shape.
type queryCursor struct {
	Filter     *catalog.Filter `json:"filter,omitempty"`
	Order      *store.Order    `json:"order,omitempty"`
	FullText   *store.FullText `json:"fullText,omitempty"`
	Position   *store.Position `json:"position"`
	Direction  string          `json:"direction"`
	TotalItems *int            `json:"totalItems,omitempty"`
}

// Bounds on decoded cursors, which come back from clients and so are input.
const (
	maxCursorBytes       = 256 << 10
	maxCursorFilterDepth = 64
	maxCursorFilterNodes = 10_000
)

func encodeCursor(c queryCursor) string {
	b, _ := json.Marshal(c)
	return encodeRaw(b)
}

func encodeRaw(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decodeCursor(s string) (*queryCursor, error) {
	bad := func() error { return fault.New(fault.Invalid, "cursor is not a cursor this server issued") }
	if s == "" {
		return nil, fault.New(fault.Invalid, "cursor must not be empty")
	}
	if len(s) > maxCursorBytes {
		return nil, bad()
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, bad()
	}
	var c queryCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, bad()
	}
	if c.Position == nil || (c.Direction != dirNext && c.Direction != dirPrev) {
		return nil, bad()
	}
	if c.Order != nil && c.Order.Field == "" {
		return nil, bad()
	}
	nodes := 0
	if !validFilter(c.Filter, 0, &nodes) {
		return nil, bad()
	}
	return &c, nil
}

// validFilter checks that a filter read from a cursor has a shape the
// parsers could have produced, bounded in depth and size.
func validFilter(f *catalog.Filter, depth int, nodes *int) bool {
	if f == nil {
		return depth == 0
	}
	*nodes++
	if depth > maxCursorFilterDepth || *nodes > maxCursorFilterNodes {
		return false
	}
	switch f.Op {
	case catalog.OpMatch:
		if f.Key == "" || len(f.Children) > 0 {
			return false
		}
		switch f.Match {
		case catalog.MatchExists:
		case catalog.MatchIn:
		case catalog.MatchPrefix:
			if len(f.Values) != 1 {
				return false
			}
		default:
			return false
		}
		return true
	case catalog.OpNot:
		if len(f.Children) != 1 {
			return false
		}
	case catalog.OpAll, catalog.OpAny:
	default:
		return false
	}
	for _, c := range f.Children {
		if !validFilter(c, depth+1, nodes) {
			return false
		}
	}
	return true
}
