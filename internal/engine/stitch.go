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
	quoted, err := json.Marshal(s.UID)
	if err != nil || !bytes.HasPrefix(body[at:], quoted) {
		return nil, false
	}
	at += len(quoted)
	// What follows the uid must be another metadata key or the end of
	// metadata: an etag key would mean the body was not written by us.
	if at >= len(body) || (body[at] != ',' && body[at] != '}') || bytes.HasPrefix(body[at:], []byte(`,"etag":`)) {
		return nil, false
	}
	tag := etag(s)
	out := make([]byte, 0, len(body)+len(tag)+16+64*len(s.Relations))
	out = append(out, body[:at]...)
	out = append(out, `,"etag":"`...)
	out = append(out, tag...) // base64url: nothing to escape
	out = append(out, '"')
	out = append(out, body[at:len(body)-1]...)
	if len(s.Relations) > 0 {
		rel, err := json.Marshal(s.Relations)
		if err != nil {
			return nil, false
		}
		out = append(out, `,"relations":`...)
		out = append(out, rel...)
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
