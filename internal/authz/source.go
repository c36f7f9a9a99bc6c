package authz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"
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

// Reload reads the policy files again. On success the new policy replaces
// the current one atomically; on failure the current one stays, and the
// error is kept for Status and returned. It reports whether the policy
// changed.
func (a *Authorizer) Reload() (bool, error) {
	if len(a.params.Files) == 0 {
		return false, nil
	}
	c, stamps, err := a.load()
	if err != nil {
		a.mu.Lock()
		// Remember the stamps of the bad files so that the watcher does
		// not retry until they change again.
		for f, st := range stamps {
			a.seen[f] = st
		}
		a.status.LastError, a.status.LastErrorAt = err.Error(), time.Now()
		a.mu.Unlock()
		a.log.Error("policy reload failed; the previous policy stays in force", "files", a.params.Files, "error", err.Error())
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
	a.log.Info("policy loaded", "files", a.params.Files, "rules", len(c.rules))
	return true, nil
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
