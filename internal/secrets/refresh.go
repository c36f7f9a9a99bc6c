package secrets

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Resolver resolves a secret reference: kind is env, file or vault, ref what
// follows "kind:".
type Resolver func(ctx context.Context, kind, ref string) (string, error)

// Ref is a secret reference to keep fresh.
type Ref struct {
	// Key is the configuration key that holds it, for logs.
	Key  string
	Kind string
	Ref  string
}

// NewResolver resolves env (from env), file and vault references; vault may
// be nil when no reference needs it.
func NewResolver(env map[string]string, v *Vault) Resolver {
	return func(ctx context.Context, kind, ref string) (string, error) {
		switch kind {
		case "env":
			return env[ref], nil
		case "file":
			b, err := os.ReadFile(ref)
			if err != nil {
				return "", err
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		case "vault":
			if v == nil {
				return "", errNoVault
			}
			return v.Get(ctx, ref)
		}
		return "", errUnknownKind
	}
}

// Refresher re-resolves secret references periodically and reports the
// ones whose value changed (a rotation) to OnChange, after registering the
// new value for redaction.
type Refresher struct {
	Refs     []Ref
	Resolve  Resolver
	Registry *Registry
	Logger   *slog.Logger
	// OnChange is called with the reference, its previous value and its
	// new value.
	OnChange func(r Ref, old, value string)

	mu   sync.Mutex
	last map[string]string
}

// Prime records the values resolved at start.
func (f *Refresher) Prime(values map[Ref]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = map[string]string{}
	for r, v := range values {
		f.last[r.Kind+":"+r.Ref] = v
	}
}

// RefreshOnce re-resolves every reference once and returns how many changed.
func (f *Refresher) RefreshOnce(ctx context.Context) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last = map[string]string{}
	}
	changed := 0
	for _, r := range f.Refs {
		if r.Kind == "env" {
			continue // the environment of a running process does not change
		}
		v, err := f.Resolve(ctx, r.Kind, r.Ref)
		if err != nil {
			if f.Logger != nil {
				f.Logger.Warn("secret refresh failed; keeping the current value", "key", r.Key, "ref", r.Kind+":"+r.Ref, "error", f.Registry.Redact(err.Error()))
			}
			continue
		}
		id := r.Kind + ":" + r.Ref
		old, seen := f.last[id]
		f.last[id] = v
		if seen && old == v {
			continue
		}
		f.Registry.Add(v)
		if !seen {
			continue
		}
		changed++
		if f.Logger != nil {
			f.Logger.Info("secret rotated", "key", r.Key, "ref", id)
		}
		if f.OnChange != nil {
			f.OnChange(r, old, v)
		}
	}
	return changed
}

// Run refreshes every interval until ctx is done.
func (f *Refresher) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 || len(f.Refs) == 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.RefreshOnce(ctx)
		}
	}
}
