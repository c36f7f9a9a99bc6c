package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// Store is the directory of installed plugins:
//
//	<dir>/<id>/<version>/plugin         the executable (mode 0755)
//	<dir>/<id>/<version>/manifest.json  what was installed, from where, its sha256
//	<dir>/<id>/current                  the version in use
//
// A running server watches the directory and starts, swaps or stops
// plugins as `current` files appear, change or go.
type Store struct {
	Dir string
}

// Manifest describes an installed plugin version.
type Manifest struct {
	ID          string    `json:"id"`
	Version     string    `json:"version"`
	APIVersions string    `json:"apiVersions"`
	Description string    `json:"description,omitempty"`
	Maintainer  string    `json:"maintainer,omitempty"`
	Licence     string    `json:"licence,omitempty"`
	Homepage    string    `json:"homepage,omitempty"`
	ReleasedAt  time.Time `json:"releasedAt"`
	Platform    string    `json:"platform"`
	Source      string    `json:"source"`
	SHA256      string    `json:"sha256"`
	InstalledAt time.Time `json:"installedAt"`
	// Path is the executable's absolute path (not stored).
	Path string `json:"-"`
}

// binaryName is the executable's file name inside a version directory.
const binaryName = "plugin"

// Progress receives download progress: bytes so far and the total (-1
// when unknown).
type Progress func(done, total int64)

// InstallParams are what Install needs.
type InstallParams struct {
	Index   *Index
	Entry   *Entry
	Release *Release
	// API is this Atrium's plugin-API version.
	API      *semver.Version
	Platform string
	Fetcher  *Fetcher
	Progress Progress
	Now      time.Time
}

// Install downloads the release's executable, verifies its sha256, and
// makes it the plugin's current version. An incompatible release is
// refused with an *IncompatibleError before anything is downloaded.
func (s *Store) Install(ctx context.Context, p InstallParams) (Manifest, error) {
	e, r := p.Entry, p.Release
	if err := checkRelease(e, r, p.API, p.Platform); err != nil {
		return Manifest{}, err
	}
	art := r.Platforms[p.Platform]
	src, err := resolve(p.Index.Source, art.URL)
	if err != nil {
		return Manifest{}, fmt.Errorf("%s %s: url %q: %w", e.ID, r.Version, art.URL, err)
	}
	pluginDir := filepath.Join(s.Dir, e.ID)
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return Manifest{}, err
	}
	tmp, err := os.CreateTemp(pluginDir, ".download-*")
	if err != nil {
		return Manifest{}, err
	}
	defer os.Remove(tmp.Name())
	sum, err := s.download(ctx, p, src, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("downloading %s %s: %w", e.ID, r.Version, err)
	}
	if sum != art.SHA256 {
		return Manifest{}, &ChecksumError{ID: e.ID, Version: r.Version, Source: src, Expected: art.SHA256, Actual: sum}
	}
	verDir := filepath.Join(pluginDir, r.version.String())
	if err := os.RemoveAll(verDir); err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(verDir, 0o755); err != nil {
		return Manifest{}, err
	}
	bin := filepath.Join(verDir, binaryName)
	// Owner-writable only: nobody else may replace what Atrium executes.
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return Manifest{}, err
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return Manifest{}, err
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	m := Manifest{
		ID: e.ID, Version: r.version.String(), APIVersions: r.APIVersions, Description: e.Description,
		Maintainer: e.Maintainer, Licence: e.Licence, Homepage: e.Homepage, ReleasedAt: r.ReleasedAt,
		Platform: p.Platform, Source: src, SHA256: sum, InstalledAt: now, Path: bin,
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := writeAtomic(filepath.Join(verDir, "manifest.json"), data, 0o644); err != nil {
		return Manifest{}, err
	}
	if err := writeAtomic(filepath.Join(pluginDir, "current"), []byte(m.Version+"\n"), 0o644); err != nil {
		return Manifest{}, err
	}
	s.prune(e.ID, m.Version)
	return m, nil
}

// ChecksumError refuses a download whose sha256 is not the index's.
type ChecksumError struct {
	ID, Version, Source, Expected, Actual string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("checksum mismatch for %s %s (%s): expected sha256 %s, got %s; the download was discarded",
		e.ID, e.Version, e.Source, e.Expected, e.Actual)
}

func (s *Store) download(ctx context.Context, p InstallParams, src string, w io.Writer) (string, error) {
	max := p.Fetcher.MaxDownloadBytes
	if max <= 0 {
		max = 256 << 20
	}
	rc, total, err := p.Fetcher.open(ctx, src, max)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	h := sha256.New()
	pw := &progressWriter{total: total, report: p.Progress}
	n, err := io.Copy(io.MultiWriter(w, h, pw), io.LimitReader(rc, max+1))
	if err != nil {
		return "", err
	}
	if n > max {
		return "", fmt.Errorf("over the limit of %d bytes (atrium.pluginHost.maxDownloadBytes)", max)
	}
	if p.Progress != nil {
		p.Progress(n, n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type progressWriter struct {
	done, total int64
	report      Progress
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.report != nil {
		p.report(p.done, p.total)
	}
	return len(b), nil
}

// prune removes versions of id other than keep and the one before it, so
// that a rollback stays possible without the directory growing.
func (s *Store) prune(id, keep string) {
	versions, _ := s.Versions(id)
	kept := 0
	for _, v := range versions {
		if v == keep {
			continue
		}
		if kept == 0 {
			kept++
			continue
		}
		_ = os.RemoveAll(filepath.Join(s.Dir, id, v))
	}
}

// Versions returns the installed versions of id, newest first.
func (s *Store) Versions(id string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.Dir, id))
	if err != nil {
		return nil, err
	}
	var vs []*semver.Version
	for _, e := range ents {
		if v, err := semver.StrictNewVersion(e.Name()); err == nil && e.IsDir() {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].GreaterThan(vs[j]) })
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out, nil
}

// ErrNotInstalled is returned for a plugin id that is not installed.
var ErrNotInstalled = errors.New("not installed")

// Current returns the manifest of id's current version.
func (s *Store) Current(id string) (Manifest, error) {
	if !idPattern.MatchString(id) {
		return Manifest{}, fmt.Errorf("%q is not a plugin id", id)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, id, "current"))
	if errors.Is(err, fs.ErrNotExist) {
		return Manifest{}, fmt.Errorf("plugin %s: %w", id, ErrNotInstalled)
	}
	if err != nil {
		return Manifest{}, err
	}
	version := strings.TrimSpace(string(b))
	if _, err := semver.StrictNewVersion(version); err != nil {
		return Manifest{}, fmt.Errorf("plugin %s: %s names %q, not a version", id, filepath.Join(s.Dir, id, "current"), version)
	}
	verDir := filepath.Join(s.Dir, id, version)
	data, err := os.ReadFile(filepath.Join(verDir, "manifest.json"))
	if err != nil {
		return Manifest{}, fmt.Errorf("plugin %s %s: %w", id, version, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("plugin %s %s: manifest.json: %w", id, version, err)
	}
	if m.ID != id || m.Version != version {
		return Manifest{}, fmt.Errorf("plugin %s %s: manifest.json describes %s %s", id, version, m.ID, m.Version)
	}
	m.Path = filepath.Join(verDir, binaryName)
	return m, nil
}

// List returns the manifests of every installed plugin, by id. Broken
// installations are returned as errors next to the good ones.
func (s *Store) List() ([]Manifest, []error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{err}
	}
	var out []Manifest
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !idPattern.MatchString(e.Name()) {
			continue
		}
		m, err := s.Current(e.Name())
		if errors.Is(err, ErrNotInstalled) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errs
}

// Remove uninstalls id: its current version goes first (a running server
// stops the plugin), then its files.
func (s *Store) Remove(id string) error {
	if _, err := s.Current(id); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.Dir, id, "current")); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(s.Dir, id))
}

// Verify checks an installed executable before it is started: it must not
// be writable by group or others and must still have the manifest's sha256.
func Verify(m Manifest) error {
	st, err := os.Stat(m.Path)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %s); refusing to run it", m.Path, st.Mode().Perm())
	}
	f, err := os.Open(m.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("%s changed since it was installed: expected sha256 %s, got %s", m.Path, m.SHA256, got)
	}
	return nil
}

// writeAtomic writes a file through a temporary file and a rename, so
// that a watcher never reads half of it.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
