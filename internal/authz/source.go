package authz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
)

// fileStamp is what tells a changed policy file from an unchanged one.
type fileStamp struct {
	modTime time.Time
	size    int64
	sum     [sha256.Size]byte
}

// readPolicyFile reads a policy file, refusing one over MaxPolicyBytes.
func readPolicyFile(path string) ([]byte, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("reading policy: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("reading policy: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("reading policy %s: %w", path, err)
	}
	if len(data) > MaxPolicyBytes {
		return nil, fileStamp{}, Problems{{File: path, Message: fmt.Sprintf("file is larger than %d bytes", MaxPolicyBytes)}}
	}
	return data, fileStamp{modTime: fi.ModTime(), size: fi.Size(), sum: sha256.Sum256(data)}, nil
}

// fetchPolicy reads a policy URL, refusing one over MaxPolicyBytes.
func (a *Authorizer) fetchPolicy(ctx context.Context, url string) ([]byte, fileStamp, error) {
	data, err := a.params.Fetch(ctx, url)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("reading policy: %w", err)
	}
	if len(data) > MaxPolicyBytes {
		return nil, fileStamp{}, Problems{{File: url, Message: fmt.Sprintf("file is larger than %d bytes", MaxPolicyBytes)}}
	}
	return data, fileStamp{size: int64(len(data)), sum: sha256.Sum256(data)}, nil
}

// changed reports whether any policy file differs from what was loaded.
func (a *Authorizer) changed() bool {
	a.mu.Lock()
	seen := a.seen
	a.mu.Unlock()
	for _, f := range a.params.Files {
		old, ok := seen[f]
		fi, err := os.Stat(f)
		if !ok || err != nil {
			return true
		}
		if !fi.ModTime().Equal(old.modTime) || fi.Size() != old.size {
			return true
		}
	}
	return false
}

// Reload reads the policy files and URLs again. On success the new policy
// replaces the current one atomically; on failure the current one stays,
// and the error is kept for Status, logged, recorded in the audit log and
// returned. It reports whether the policy changed.
func (a *Authorizer) Reload() (bool, error) { return a.Refresh(context.Background()) }

// Refresh is Reload with a context, for the refresh endpoint and the URL
// poller.
func (a *Authorizer) Refresh(ctx context.Context) (bool, error) {
	if len(a.params.Files) == 0 && len(a.params.URLs) == 0 {
		return false, nil
	}
	a.reloading.Lock()
	defer a.reloading.Unlock()
	c, stamps, err := a.load(ctx)
	if err != nil {
		a.mu.Lock()
		// Remember the stamps of the bad files so that the watcher does
		// not retry until they change again.
		for f, st := range stamps {
			a.seen[f] = st
		}
		repeated := a.status.LastError == err.Error()
		a.status.LastError, a.status.LastErrorAt = err.Error(), time.Now()
		a.mu.Unlock()
		a.log.Error("policy reload failed; the previous policy stays in force", "sources", a.sources(), "error", err.Error())
		if !repeated {
			// A URL that stays broken is polled again and again: record
			// each distinct failure once.
			a.recordReload(ctx, audit.Failed, err.Error())
		}
		return false, err
	}
	a.mu.Lock()
	same := sameStamps(a.seen, stamps)
	a.mu.Unlock()
	if same {
		a.mu.Lock()
		a.status.LastError, a.status.LastErrorAt = "", time.Time{}
		a.mu.Unlock()
		return false, nil
	}
	a.swap(c, stamps)
	a.log.Info("policy loaded", "sources", a.sources(), "rules", len(c.rules))
	a.recordReload(ctx, audit.Succeeded, fmt.Sprintf("policy loaded from %s: %d rules", strings.Join(a.sources(), ", "), len(c.rules)))
	return true, nil
}

// sources names the configured policy files and URLs.
func (a *Authorizer) sources() []string {
	return append(append([]string(nil), a.params.Files...), a.params.URLs...)
}

// ReloadAction is the audit action of a policy reload.
const ReloadAction = "atrium.policy.reload"

func (a *Authorizer) recordReload(ctx context.Context, outcome audit.Outcome, message string) {
	if a.params.Events == nil {
		return
	}
	ev := audit.Event{
		Actor:    audit.Actor{Ref: "service:atrium-authz", Type: "service", Via: "policy reload"},
		Action:   ReloadAction,
		Resource: strings.Join(a.sources(), ", "),
		Outcome:  outcome,
		Details:  map[string]any{"message": message},
	}
	if err := a.params.Events(context.WithoutCancel(ctx), ev); err != nil {
		a.log.Error("recording a policy reload in the audit log", "error", err.Error())
	}
}

func sameStamps(a, b map[string]fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for f, s := range a {
		o, ok := b[f]
		if !ok || !bytes.Equal(s.sum[:], o.sum[:]) {
			return false
		}
	}
	return true
}

// WatchURLs reads the policy URLs again every interval, until ctx is
// done; a changed policy replaces the current one, a broken or unreachable
// one leaves it in force.
func (a *Authorizer) WatchURLs(ctx context.Context, interval time.Duration) {
	if len(a.params.URLs) == 0 || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, _ = a.Refresh(ctx) // failures are logged, audited and kept for Status
	}
}

// Watch polls the policy files every interval and reloads them when their
// modification time or size changes, until ctx is done.
func (a *Authorizer) Watch(ctx context.Context, interval time.Duration) {
	if len(a.params.Files) == 0 || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !a.changed() {
			continue
		}
		_, _ = a.Reload() // failures are logged and kept for Status
	}
}
