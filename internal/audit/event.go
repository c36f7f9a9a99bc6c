// Package audit keeps Atrium's tamper-evident audit log: every state change
// and every denied request becomes an Event, stored append-only in a hash
// chain (each record carries the SHA-256 of the previous record's hash and
// its own canonical JSON), so that Verify finds any edited, removed or
// reordered record.
package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Outcome is how an audited action ended.
type Outcome string

// The outcomes.
const (
	Allowed   Outcome = "allowed"   // an authorization decision allowed it
	Denied    Outcome = "denied"    // refused: 401, 403, CSRF, rate limit
	Failed    Outcome = "failed"    // attempted and failed
	Succeeded Outcome = "succeeded" // attempted and done
)

// Valid reports whether o is one of the outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case Allowed, Denied, Failed, Succeeded:
		return true
	}
	return false
}

// Actor is who acted.
type Actor struct {
	// Ref is the principal's ref ("user:default/jane", "service:ci") or
	// "anonymous".
	Ref string `json:"ref"`
	// Type is the principal type (user, service, none).
	Type string `json:"type,omitempty"`
	// TokenID identifies the API token or session used.
	TokenID string `json:"tokenId,omitempty"`
	// Via says how the actor authenticated (session, token, static, jwt, dev).
	Via string `json:"via,omitempty"`
}

// Anonymous is the actor ref of callers without a principal.
const Anonymous = "anonymous"

// Event is one audited action. Record fills Actor, IP, UserAgent,
// RequestID and Time from the request when they are empty.
type Event struct {
	Actor     Actor  `json:"actor"`
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	// Action is a permission ("catalog.location.create") or a route pattern
	// ("POST /api/catalog/locations").
	Action   string  `json:"action"`
	Resource string  `json:"resource,omitempty"`
	Outcome  Outcome `json:"outcome"`
	// Status is the HTTP status of the answer, when there is one.
	Status    int            `json:"status,omitempty"`
	RequestID string         `json:"requestId,omitempty"`
	Time      time.Time      `json:"time"`
	Details   map[string]any `json:"details,omitempty"`
}

// Entry is a stored event with its place in the chain.
type Entry struct {
	Seq int64 `json:"seq"`
	Event
	// PrevHash and Hash are the chain links; they are not part of the
	// hashed content (they are empty when it is encoded).
	PrevHash string `json:"prevHash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// canonical returns the JSON that a record's hash covers: the sequence
// number and the event, with map keys sorted (encoding/json sorts them).
func canonical(seq int64, ev Event) ([]byte, error) {
	return json.Marshal(Entry{Seq: seq, Event: ev})
}

// chainHash returns hex(SHA-256(prevHash || body)).
func chainHash(prevHash string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prevHash))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
