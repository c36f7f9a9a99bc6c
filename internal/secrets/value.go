package secrets

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Value is a configuration value that holds or embeds a secret which may
// be rotated while Atrium runs (a ${file:…} or ${vault:…} reference).
// Consumers keep the *Value and call Get each time they use the secret, so
// the first use after a rotation sees the new value. String and
// MarshalText never show it.
type Value struct{ p atomic.Pointer[string] }

// NewValue returns a Value holding s.
func NewValue(s string) *Value {
	v := &Value{}
	v.Set(s)
	return v
}

// Get returns the current value; "" for a nil Value.
func (v *Value) Get() string {
	if v == nil {
		return ""
	}
	if s := v.p.Load(); s != nil {
		return *s
	}
	return ""
}

// Set replaces the value.
func (v *Value) Set(s string) { v.p.Store(&s) }

// String hides the value from logs and dumps.
func (v *Value) String() string { return "[redacted]" }

// MarshalText hides the value from JSON and YAML encoders.
func (v *Value) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Live tracks the configuration values that consumers read at use time,
// and updates them when a secret they contain is rotated.
type Live struct {
	mu     sync.Mutex
	values []*Value
}

// Track returns a Value for a configured value (a client secret, a
// password, a token, a connection string) that Rotate keeps current.
func (l *Live) Track(configured string) *Value {
	v := NewValue(configured)
	if l == nil {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.values = append(l.values, v)
	return v
}

// Rotate replaces old by new in every tracked value that contains it and
// returns how many changed. A value built around a secret ("postgres://u:
// ${file:pw}@db/atrium") follows it as a value that is the secret does.
// Secrets are long random strings, so old does not occur by accident; an
// empty old changes nothing.
func (l *Live) Rotate(old, new string) int {
	if l == nil || old == "" || old == new {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, v := range l.values {
		if cur := v.Get(); strings.Contains(cur, old) {
			v.Set(strings.ReplaceAll(cur, old, new))
			n++
		}
	}
	return n
}
