package pluginhost

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// installFrom loads the registry's index and installs id@version.
func installFrom(t *testing.T, reg *testRegistry, store *Store, id, version string) (Manifest, error) {
	t.Helper()
	ctx := context.Background()
	f := reg.Fetcher()
	idx, err := f.LoadIndex(ctx, reg.URL())
	if err != nil {
		t.Fatalf("loading the index: %v", err)
	}
	e, ok := idx.Plugin(id)
	if !ok {
		t.Fatalf("%s not in the index", id)
	}
	r, ok := e.Release(version)
	if !ok {
		t.Fatalf("%s %s not in the index", id, version)
	}
	return store.Install(ctx, InstallParams{Index: idx, Entry: e, Release: r, API: semver.MustParse("1.0.0"), Platform: Platform, Fetcher: f})
}

func TestInstall(t *testing.T) {
	reg := newTestRegistry(t)
	bin := []byte("#!/bin/sh\necho not really a plugin\n")
	reg.publish("echo", testRelease{Version: "1.0.0", APIVersions: "^1.0.0", Binary: bin})
	store := &Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	var progress []int64
	ctx := context.Background()
	f := reg.Fetcher()
	idx, err := f.LoadIndex(ctx, reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	e, _ := idx.Plugin("echo")
	m, err := store.Install(ctx, InstallParams{Index: idx, Entry: e, Release: &e.Versions[0], API: semver.MustParse("1.0.0"),
		Platform: Platform, Fetcher: f, Progress: func(done, total int64) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != int64(len(bin)) {
		t.Errorf("progress: got %v, want it to end at %d", progress, len(bin))
	}
	st, err := os.Stat(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode: got %s, want -rwxr-xr-x", st.Mode().Perm())
	}
	cur, err := store.Current("echo")
	if err != nil || cur.Version != "1.0.0" || cur.SHA256 != m.SHA256 || cur.Source != strings.TrimSuffix(reg.URL(), "index.yaml")+"echo-1.0.0" {
		t.Errorf("current: %+v, %v", cur, err)
	}
	if err := Verify(cur); err != nil {
		t.Errorf("verify: %v", err)
	}
	// A binary changed after installation, or made writable by others, is refused.
	if err := os.Chmod(m.Path, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := Verify(cur); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("verify of a world-writable binary: %v", err)
	}
	_ = os.Chmod(m.Path, 0o755)
	if err := os.WriteFile(m.Path, []byte("tampered"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Verify(cur); err == nil || !strings.Contains(err.Error(), "changed since it was installed") {
		t.Errorf("verify of a changed binary: %v", err)
	}
	if err := store.Remove("echo"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Current("echo"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("after remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(store.Dir, "echo")); !os.IsNotExist(err) {
		t.Errorf("the plugin's directory is still there: %v", err)
	}
}

func TestInstallChecksumMismatch(t *testing.T) {
	reg := newTestRegistry(t)
	const wrong = "0000000000000000000000000000000000000000000000000000000000000000"
	reg.publish("echo", testRelease{Version: "1.0.0", APIVersions: "^1.0.0", Binary: []byte("evil"), SHA256: wrong})
	store := &Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	_, err := installFrom(t, reg, store, "echo", "1.0.0")
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a checksum error", err)
	}
	for _, want := range []string{"checksum mismatch for echo 1.0.0", "expected sha256 " + wrong, "got " + ce.Actual, "discarded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if sum := sha256.Sum256([]byte("evil")); ce.Actual != hex.EncodeToString(sum[:]) {
		t.Errorf("actual checksum: got %s, want the sha256 of what was served", ce.Actual)
	}
	if _, err := store.Current("echo"); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("something was installed: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(store.Dir, "echo"))
	if len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestInstallIncompatible(t *testing.T) {
	reg := newTestRegistry(t)
	bin := []byte("x")
	reg.publish("echo",
		testRelease{Version: "1.0.0", APIVersions: ">=1.0.0 <2.0.0", Binary: bin},
		testRelease{Version: "1.1.0", APIVersions: "^1.0.0", Binary: bin},
		testRelease{Version: "2.0.0", APIVersions: ">=2.0.0", Binary: bin},
	)
	store := &Store{Dir: filepath.Join(t.TempDir(), "plugins")}
	_, err := installFrom(t, reg, store, "echo", "2.0.0")
	var ie *IncompatibleError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an incompatibility", err)
	}
	want := "echo 2.0.0 supports plugin API >=2.0.0, but this Atrium speaks plugin API 1.0.0; versions that would work: 1.1.0, 1.0.0"
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(store.Dir, "echo", "current")); !os.IsNotExist(err) {
		t.Errorf("an incompatible release was made current")
	}
}

func TestFetcherRefuses(t *testing.T) {
	reg := newTestRegistry(t)
	reg.publish("echo", testRelease{Version: "1.0.0", APIVersions: "^1", Binary: []byte("x")})
	ctx := context.Background()
	f := reg.Fetcher()
	f.AllowedHosts = []string{"plugins.example.com"}
	if _, err := f.LoadIndex(ctx, reg.URL()); err == nil || !strings.Contains(err.Error(), "is not in atrium.pluginHost.allowedHosts") {
		t.Errorf("host not allowed: got %v", err)
	}
	f = reg.Fetcher()
	if _, err := f.LoadIndex(ctx, strings.Replace(reg.URL(), "https://", "http://", 1)); err == nil || !strings.Contains(err.Error(), "only https:// URLs are allowed") {
		t.Errorf("plain http: got %v", err)
	}
	f = reg.Fetcher()
	f.RootCAs = nil
	if _, err := f.LoadIndex(ctx, reg.URL()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: got %v", err)
	}
	f = reg.Fetcher()
	f.MaxIndexBytes = 10
	if _, err := f.LoadIndex(ctx, reg.URL()); err == nil || !strings.Contains(err.Error(), "over the limit of 10") {
		t.Errorf("index over the limit: got %v", err)
	}
	// A local index with a relative path.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.yaml"), []byte(goodIndex), 0o600); err != nil {
		t.Fatal(err)
	}
	idx, err := (&Fetcher{}).LoadIndex(ctx, filepath.Join(dir, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := resolve(idx.Source, "hello-1.0.0"); got != filepath.Join(dir, "hello-1.0.0") {
		t.Errorf("relative artifact: got %s", got)
	}
}

func TestInstallFromLocalIndex(t *testing.T) {
	dir := t.TempDir()
	bin := []byte("#!/bin/sh\n")
	sum := sha256.Sum256(bin)
	if err := os.WriteFile(filepath.Join(dir, "echo-1.0.0"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	index := "plugins:\n  - id: echo\n    versions:\n      - version: 1.0.0\n        apiVersions: ^1\n        releasedAt: 2026-01-01\n        platforms:\n          " +
		Platform + ": { url: echo-1.0.0, sha256: " + hex.EncodeToString(sum[:]) + " }\n"
	if err := os.WriteFile(filepath.Join(dir, "index.yaml"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &Fetcher{}
	idx, err := f.LoadIndex(context.Background(), filepath.Join(dir, "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := idx.Plugin("echo")
	store := &Store{Dir: filepath.Join(dir, "plugins")}
	m, err := store.Install(context.Background(), InstallParams{Index: idx, Entry: e, Release: &e.Versions[0], API: semver.MustParse("1.0.0"), Platform: Platform, Fetcher: f})
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != filepath.Join(dir, "echo-1.0.0") {
		t.Errorf("source: %s", m.Source)
	}
	if st, _ := os.Stat(m.Path); st.Mode().Perm() != 0o755 {
		t.Errorf("mode: %s", st.Mode().Perm())
	}
}

func TestFetcherRedirects(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example.com/index.yaml", http.StatusFound)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	f := &Fetcher{AllowedHosts: []string{strings.TrimPrefix(srv.URL, "https://")}, RootCAs: pool}
	_, err := f.LoadIndex(context.Background(), srv.URL+"/index.yaml")
	if err == nil || !strings.Contains(err.Error(), "host elsewhere.example.com is not in atrium.pluginHost.allowedHosts") {
		t.Errorf("redirect to another host: got %v", err)
	}
}
