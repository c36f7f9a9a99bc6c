// Package secrets keeps secrets out of sight: a redaction registry that
// logs and error paths consult, resolution of ${vault:…} references with
// periodic re-resolution, AES-GCM encryption of the secrets Atrium stores
// (Box), and a start-up check for literal credentials in configuration
// files tracked by git.
package secrets

import (
	"context"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret wherever it would appear.
const Mask = "[REDACTED]"

// minSecretLen is the shortest value redacted: shorter values ("true",
// "1234") would mask ordinary text everywhere and are no secrets worth
// the name.
const minSecretLen = 6

// Registry is the set of secret values to redact. The zero value is ready.
type Registry struct {
	mu     sync.RWMutex
	values []string // longest first, so a secret containing another is masked whole
	r      *strings.Replacer
}

// Add registers values as secrets; short and empty ones are ignored.
func (reg *Registry) Add(values ...string) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	seen := map[string]bool{}
	for _, v := range reg.values {
		seen[v] = true
	}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < minSecretLen || seen[v] {
			continue
		}
		seen[v] = true
		reg.values = append(reg.values, v)
	}
	sort.Slice(reg.values, func(i, j int) bool { return len(reg.values[i]) > len(reg.values[j]) })
	pairs := make([]string, 0, 2*len(reg.values))
	for _, v := range reg.values {
		pairs = append(pairs, v, Mask)
	}
	reg.r = strings.NewReplacer(pairs...)
}

// Redact returns s with every registered secret replaced by Mask.
func (reg *Registry) Redact(s string) string {
	if reg == nil {
		return s
	}
	reg.mu.RLock()
	r := reg.r
	reg.mu.RUnlock()
	if r == nil || s == "" {
		return s
	}
	return r.Replace(s)
}

// Handler returns a slog.Handler that redacts the message and every string
// attribute (and errors and Stringers, as their text) before next sees them.
func (reg *Registry) Handler(next slog.Handler) slog.Handler {
	return &redactHandler{reg: reg, next: next}
}

type redactHandler struct {
	reg  *Registry
	next slog.Handler
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle passes r on unchanged when redaction would not change it (the
// access log's line on every request): rebuilding the record costs its
// attributes' copies and allocations.
func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	msg := h.reg.Redact(r.Message)
	if msg == r.Message && h.unchanged(r) {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// unchanged reports whether attr would leave every attribute of r as it
// is: plain scalars, and strings without a secret. Anything attr converts
// (log valuers, groups, errors, Stringers, slices) counts as a change.
func (h *redactHandler) unchanged(r slog.Record) bool {
	same := true
	r.Attrs(func(a slog.Attr) bool {
		switch a.Value.Kind() {
		case slog.KindString:
			s := a.Value.String()
			same = h.reg.Redact(s) == s
		case slog.KindAny, slog.KindGroup, slog.KindLogValuer:
			same = false
		}
		return same
	})
	return same
}

func (h *redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &redactHandler{reg: h.reg, next: h.next.WithAttrs(red)}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{reg: h.reg, next: h.next.WithGroup(name)}
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.reg.Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = h.attr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.reg.Redact(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, h.reg.Redact(x.String()))
		case []string:
			red := make([]string, len(x))
			for i, s := range x {
				red[i] = h.reg.Redact(s)
			}
			return slog.Any(a.Key, red)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
