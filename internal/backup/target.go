package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Target is where backups are kept: a folder or a blob container.
// Implementations make Put atomic: until it returns nil, List does not show
// the backup, so a backup cut short never looks complete.
type Target interface {
	// Put stores r under name.
	Put(ctx context.Context, name string, r io.Reader) error
	// List returns the complete backups there, in any order.
	List(ctx context.Context) ([]Info, error)
	// Open reads one backup.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Delete removes one backup.
	Delete(ctx context.Context, name string) error
	// String names the target in messages (no credentials).
	String() string
}

// Info is one stored backup.
type Info struct {
	Name string
	Size int64
}

const (
	namePrefix = "atrium-backup-"
	nameSuffix = ".tar.gz"
	// nameTime is the UTC time in a backup's name; names sort by time.
	nameTime = "20060102T150405.000Z"
)

// Name returns the archive name of a backup taken at t.
func Name(t time.Time) string {
	return namePrefix + t.UTC().Format(nameTime) + nameSuffix
}

// IsName reports whether name is a backup archive's name.
func IsName(name string) bool {
	ts, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return false
	}
	ts, ok = strings.CutSuffix(ts, nameSuffix)
	if !ok {
		return false
	}
	_, err := time.Parse(nameTime, ts)
	return err == nil
}

// newestFirst sorts backups by the time in their names, newest first.
func newestFirst(list []Info) {
	slices.SortFunc(list, func(a, b Info) int { return strings.Compare(b.Name, a.Name) })
}

// Prune deletes all but the newest keep backups and returns the names
// deleted.
func Prune(ctx context.Context, t Target, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("keep must be at least 1, got %d", keep)
	}
	list, err := t.List(ctx)
	if err != nil {
		return nil, err
	}
	newestFirst(list)
	var deleted []string
	if c, ok := t.(interface{ removeStale(time.Duration) []string }); ok {
		deleted = append(deleted, c.removeStale(staleAfter)...)
	}
	for _, b := range list[min(keep, len(list)):] {
		if err := t.Delete(ctx, b.Name); err != nil {
			return deleted, fmt.Errorf("deleting old backup %s: %w", b.Name, err)
		}
		deleted = append(deleted, b.Name)
	}
	return deleted, nil
}

// Dir is a folder of backups. Put writes to a hidden temporary file and
// renames it when complete.
type Dir struct {
	Path string
}

var _ Target = (*Dir)(nil)

func (d *Dir) String() string { return d.Path }

// Put writes the backup to .name.partial, syncs it and renames it to name.
func (d *Dir) Put(ctx context.Context, name string, r io.Reader) (err error) {
	if !IsName(name) {
		return fmt.Errorf("%q is not a backup name", name)
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("backup folder %s: %w", d.Path, err)
	}
	tmp := filepath.Join(d.Path, "."+name+".partial")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("backup folder %s: %w", d.Path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = io.Copy(f, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, filepath.Join(d.Path, name)); err != nil {
		return fmt.Errorf("completing %s: %w", name, err)
	}
	if dir, err := os.Open(d.Path); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	return nil
}

// List returns the complete backups in the folder; a missing folder holds none.
func (d *Dir) List(ctx context.Context) ([]Info, error) {
	entries, err := os.ReadDir(d.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup folder %s: %w", d.Path, err)
	}
	var out []Info
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsName(e.Name()) {
			continue
		}
		st, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, Info{Name: e.Name(), Size: st.Size()})
	}
	return out, nil
}

// Open opens one backup of the folder.
func (d *Dir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if !IsName(name) {
		return nil, fmt.Errorf("%q is not a backup name (atrium-backup-<time>.tar.gz)", name)
	}
	f, err := os.Open(filepath.Join(d.Path, name))
	if err != nil {
		return nil, fmt.Errorf("backup %s in %s: %w", name, d.Path, err)
	}
	return f, nil
}

// Delete removes one backup of the folder.
func (d *Dir) Delete(ctx context.Context, name string) error {
	if !IsName(name) {
		return fmt.Errorf("%q is not a backup name", name)
	}
	return os.Remove(filepath.Join(d.Path, name))
}

// staleAfter is the age past which a partial file is left over from a
// backup that was killed, not one still being written.
const staleAfter = 24 * time.Hour

// removeStale deletes partial files older than age, which killed backups
// left behind, and returns their names.
func (d *Dir) removeStale(age time.Duration) []string {
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		final, ok := strings.CutSuffix(strings.TrimPrefix(name, "."), ".partial")
		if !ok || !strings.HasPrefix(name, ".") || !IsName(final) {
			continue
		}
		st, err := e.Info()
		if err != nil || time.Since(st.ModTime()) < age {
			continue
		}
		if os.Remove(filepath.Join(d.Path, name)) == nil {
			out = append(out, name)
		}
	}
	return out
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// AzureConfig holds the credentials of azblob:// targets.
type AzureConfig struct {
	AccountKey string
	SASToken   string
	// Endpoint replaces https://<account>.blob.core.windows.net.
	Endpoint string
}

// OpenTarget returns the target named by to: a folder, or
// azblob://account/container/prefix.
func OpenTarget(to string, az AzureConfig) (Target, error) {
	if rest, ok := strings.CutPrefix(to, "azblob://"); ok {
		return newAzureTarget(rest, az)
	}
	if strings.Contains(to, "://") {
		return nil, fmt.Errorf("backup target %q: want a folder or azblob://account/container/prefix", to)
	}
	if strings.TrimSpace(to) == "" {
		return nil, fmt.Errorf("backup target is empty: give a folder or azblob://account/container/prefix")
	}
	return &Dir{Path: to}, nil
}
