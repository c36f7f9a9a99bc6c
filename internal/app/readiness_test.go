package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/config"
)

// startLoading starts the app on a catalog whose one location (a URL)
// answers only once release is called, and returns its base URL without
// waiting for readiness.
func startLoading(t *testing.T, extra string) (base string, a *app.App, release func()) {
	t.Helper()
	hold := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: { name: slow }\nspec: { type: service, lifecycle: production, owner: team-a }\n")
	}))
	t.Cleanup(src.Close)
	t.Cleanup(release) // before src.Close, which waits for the held request
	yaml := fmt.Sprintf(`backend:
  listen: { host: 127.0.0.1, port: 0 }
  database: { client: sqlite, connection: %q }
  reading:
    allow: [{ host: 127.0.0.1 }]
catalog:
  processingInterval: false
  locations:
    - { type: url, target: %q }
  rules:
    - allow: [Component]
atrium:
  dataDir: %q
  demo: false
  authz: { admins: [user:default/guest] }
%s`, filepath.Join(t.TempDir(), "atrium.db"), src.URL+"/catalog-info.yaml", filepath.Join(t.TempDir(), "data"), extra)
	cfg, err := config.LoadBytes("test.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err = app.New(ctx, cfg, app.Options{Logger: quiet(), Listener: ln})
	if err != nil {
		cancel()
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		release()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
		_ = a.Close()
	})
	return "http://" + ln.Addr().String(), a, release
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestReadinessWaitsForFirstLoad: while the first load of the configured
// locations runs, /readyz and Backstage's readiness answer 503 with the
// reason (liveness and the catalog API answer meanwhile); once it has
// finished they answer 200 and the catalog is complete.
func TestReadinessWaitsForFirstLoad(t *testing.T) {
	base, a, release := startLoading(t, "")
	for _, path := range []string{"/readyz", "/.backstage/health/v1/readiness"} {
		status, body := getStatus(t, base+path)
		if status != 503 || !strings.Contains(body, "first load of the catalog is still running") {
			t.Errorf("%s while loading: got %d %s, want 503 with the reason", path, status, body)
		}
	}
	if status, _ := getStatus(t, base+"/healthz"); status != 200 {
		t.Errorf("/healthz while loading: got %d, want 200", status)
	}
	if status, body := getStatus(t, base+"/api/catalog/entities/by-query?limit=0"); status != 200 {
		t.Errorf("catalog API while loading: got %d %s, want 200", status, body)
	}
	release()
	select {
	case <-a.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the first load did not finish within 30s")
	}
	for _, path := range []string{"/readyz", "/.backstage/health/v1/readiness"} {
		if status, body := getStatus(t, base+path); status != 200 {
			t.Errorf("%s after loading: got %d %s, want 200", path, status, body)
		}
	}
	if status, _ := getStatus(t, base+"/api/catalog/entities/by-name/component/default/slow"); status != 200 {
		t.Errorf("the loaded entity: got %d, want 200", status)
	}
}

// TestReadinessMaxWait: atrium.limits.readinessMaxWait bounds the wait (a
// location that never answers does not keep the replica out of service
// for ever), and 0 turns it off.
func TestReadinessMaxWait(t *testing.T) {
	t.Run("bounded", func(t *testing.T) {
		base, _, _ := startLoading(t, "  limits: { readinessMaxWait: 3s }\n")
		if status, _ := getStatus(t, base+"/readyz"); status != 503 {
			t.Errorf("/readyz at start: got %d, want 503", status)
		}
		time.Sleep(3100 * time.Millisecond)
		if status, body := getStatus(t, base+"/readyz"); status != 200 {
			t.Errorf("/readyz after readinessMaxWait: got %d %s, want 200", status, body)
		}
	})
	t.Run("off", func(t *testing.T) {
		base, _, _ := startLoading(t, "  limits: { readinessMaxWait: 0s }\n")
		if status, body := getStatus(t, base+"/readyz"); status != 200 {
			t.Errorf("/readyz with readinessMaxWait 0: got %d %s, want 200", status, body)
		}
	})
}
