package engine

import (
	"bytes"
	"encoding/json"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
)

// StitchJSON returns the JSON of Stitch(s), byte for byte, without decoding
// the body when it has the shape the engine writes: the stored body is the
// entity encoded with its uid and without etag, relations or status, so the
// final entity is the body with the etag after the uid and the relations
// and status appended. Any other body takes the decoding path.
func StitchJSON(s *catalog.Stored) ([]byte, error) {
	if b, ok := spliceStitch(s); ok {
		return b, nil
	}
	ent, err := Stitch(s)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(ent)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "encoding entity %s", s.Ref)
	}
	return b, nil
}

var (
	bodyHead     = []byte(`{"apiVersion":"`)
	metadataHead = []byte(`,"metadata":{"name":"`)
	uidKey       = []byte(`,"uid":`)
)

// spliceStitch builds the final JSON by splicing; false when the body is
// not in the expected shape.
func spliceStitch(s *catalog.Stored) ([]byte, bool) {
	body := s.Body
	if !bytes.HasPrefix(body, bodyHead) || len(body) < 2 || body[len(body)-1] != '}' {
		return nil, false
	}
	// A body that names relations or status anywhere (even inside spec)
	// takes the slow path rather than risk a duplicate top-level key.
	if bytes.Contains(body, []byte(`"relations":`)) || bytes.Contains(body, []byte(`"status":`)) {
		return nil, false
	}
	// apiVersion, kind, name and namespace are validated to hold no quote
	// or backslash, so the first metadata head and the first uid key after
	// it are the real ones.
	m := bytes.Index(body, metadataHead)
	if m < 0 {
		return nil, false
	}
	u := bytes.Index(body[m:], uidKey)
	if u < 0 {
		return nil, false
	}
	at := m + u + len(uidKey)
	var qbuf [64]byte
	quoted := appendJSONString(qbuf[:0], s.UID)
	if !bytes.HasPrefix(body[at:], quoted) {
		return nil, false
	}
	at += len(quoted)
	// What follows the uid must be another metadata key or the end of
	// metadata: an etag key would mean the body was not written by us.
	if at >= len(body) || (body[at] != ',' && body[at] != '}') || bytes.HasPrefix(body[at:], []byte(`,"etag":`)) {
		return nil, false
	}
	// The exact size when nothing needs escaping (the entity cache
	// accounts an entry by its capacity, so slack would cost entries).
	size := len(body) + len(`,"etag":""`) + etagLen
	if len(s.Relations) > 0 {
		size += len(`,"relations":[]`) + len(s.Relations) - 1
		for _, r := range s.Relations {
			size += len(`{"type":"","targetRef":""}`) + len(r.Type) + len(r.TargetRef)
		}
	}
	out := make([]byte, 0, size)
	out = append(out, body[:at]...)
	out = append(out, `,"etag":"`...)
	out = appendEtag(out, s) // base64url: nothing to escape
	out = append(out, '"')
	out = append(out, body[at:len(body)-1]...)
	if len(s.Relations) > 0 {
		out = append(out, `,"relations":[`...)
		for i, r := range s.Relations {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"type":`...)
			out = appendJSONString(out, r.Type)
			out = append(out, `,"targetRef":`...)
			out = appendJSONString(out, r.TargetRef)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	if len(s.Errors) > 0 {
		st, err := json.Marshal(catalog.Status{Items: s.Errors})
		if err != nil {
			return nil, false
		}
		out = append(out, `,"status":`...)
		out = append(out, st...)
	}
	return append(out, '}'), true
}

// appendJSONString appends s as json.Marshal encodes a string: as it is
// between quotes when it holds nothing to escape (printable ASCII other
// than a quote, a backslash or an HTML character, as refs and relation
// types are), through json.Marshal otherwise.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
