// Package pluginhosttest builds a real test plugin (plugin.Serve over gRPC)
// and serves it from an HTTPS plugin registry on 127.0.0.1, for tests of
// the plugin host, the CLI and the app.
package pluginhosttest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	buildMu    sync.Mutex
	buildCache = map[string][]byte{}
)

// Platform is this process's platform key ("linux-amd64").
var Platform = runtime.GOOS + "-" + runtime.GOARCH

// BuildPlugin builds internal/pluginhost/testdata/testplugin (plugin id
// "echo", action "test:echo") declaring version and apiVersions, once per
// pair and process, and returns the executable's bytes.
func BuildPlugin(t testing.TB, version, apiVersions string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := version + " " + apiVersions
	if b, ok := buildCache[key]; ok {
		return b
	}
	// The executable goes to the test's own temporary directory; the
	// bytes are kept for the other tests of the process.
	out := filepath.Join(t.TempDir(), "testplugin")
	_, self, _, _ := runtime.Caller(0)
	pkg := filepath.Join(filepath.Dir(self), "..", "testdata", "testplugin")
	cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X main.version="+version+" -X 'main.apiVersions="+apiVersions+"'", ".")
	cmd.Dir = pkg
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build testplugin: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	buildCache[key] = b
	return b
}

// Release is a release the test registry publishes.
type Release struct {
	Version, APIVersions, ReleasedAt string
	Binary                           []byte
	// SHA256 overrides the published checksum (a tampered index).
	SHA256 string
}

// Registry is an HTTPS registry on 127.0.0.1 serving index.yaml and
// plugin executables.
type Registry struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	// CAFile holds the server's certificate, for atrium.pluginHost.caFile.
	CAFile string
}

// NewRegistry starts a registry that stops when the test ends.
func NewRegistry(t testing.TB) *Registry {
	t.Helper()
	r := &Registry{files: map[string][]byte{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		b, ok := r.files[strings.TrimPrefix(req.URL.Path, "/")]
		r.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		_, _ = w.Write(b)
	}))
	t.Cleanup(r.srv.Close)
	r.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	cert := r.srv.Certificate()
	if err := os.WriteFile(r.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// URL is the index's URL.
func (r *Registry) URL() string { return r.srv.URL + "/index.yaml" }

// Host is the server's host:port, for allowedHosts.
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "https://") }

// CertPool trusts the registry's certificate.
func (r *Registry) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(r.srv.Certificate())
	return pool
}

// Serve adds or replaces a file the registry serves.
func (r *Registry) Serve(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[name] = data
}

// Publish writes the index of plugin id with the given releases (for
// linux-amd64 and this platform), with relative URLs.
func (r *Registry) Publish(id string, rels ...Release) {
	var b strings.Builder
	fmt.Fprintf(&b, "plugins:\n  - id: %s\n    description: Echoes text.\n    maintainer: Test team\n    licence: MIT\n    versions:\n", id)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rel := range rels {
		name := fmt.Sprintf("%s-%s", id, rel.Version)
		r.files[name] = rel.Binary
		sum := rel.SHA256
		if sum == "" {
			h := sha256.Sum256(rel.Binary)
			sum = hex.EncodeToString(h[:])
		}
		at := rel.ReleasedAt
		if at == "" {
			at = "2026-11-01"
		}
		fmt.Fprintf(&b, "      - version: %s\n        apiVersions: %q\n        releasedAt: %s\n        platforms:\n          %s: { url: %s, sha256: %s }\n",
			rel.Version, rel.APIVersions, at, Platform, name, sum)
	}
	r.files["index.yaml"] = []byte(b.String())
}
