package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app"
	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/config"
)

// replica is one Atrium process of a scale-out test.
type replica struct {
	url  string
	app  *app.App
	stop func()
}

// startReplica starts Atrium with role on the database dsn, sharing dir's
// catalog files with the other replicas.
func startReplica(t *testing.T, dsn, dir, role string) *replica {
	t.Helper()
	yaml := fmt.Sprintf(`backend:
  listen: { host: 127.0.0.1, port: 0 }
  database: { client: pg, connection: %q }
catalog:
  processingInterval: { seconds: 1 }
  locations:
    - { type: file, target: %q }
atrium:
  dataDir: %q
  demo: false
  allowedLocationTypes: [file, url]
  authz: { admins: [user:default/guest] }
  rateLimit: { enabled: false }
`, dsn, filepath.Join(dir, "catalog.yaml"), filepath.Join(t.TempDir(), "data"))
	cfg, err := config.LoadBytes("replica.yaml", []byte(yaml), map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Backend.BaseURL = "http://" + ln.Addr().String()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Logger: logger.With("replica", role+"@"+ln.Addr().String()), Listener: ln, Role: role})
	if err != nil {
		cancel()
		t.Fatalf("starting a %s replica: %v", role, err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
		_ = a.Close()
	}
	t.Cleanup(stop)
	select {
	case <-a.Ready():
	case <-time.After(30 * time.Second):
		t.Fatalf("a %s replica was not ready within 30s", role)
	}
	return &replica{url: "http://" + ln.Addr().String(), app: a, stop: stop}
}

func writeComponent(t *testing.T, file, name string) {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: %s }
spec: { type: service, lifecycle: production, owner: group:default/team-a }
`, name)
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond every 20ms until it holds or limit passes, and
// returns how long it took.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestScaleOut runs two Atrium processes' worth of replicas on one
// PostgreSQL database: a change through one is visible through the other
// within 1 s (its caches were warm), live page streams of both see it,
// exactly one replica processes locations, and when it goes away the other
// takes over and keeps serving.
func TestScaleOut(t *testing.T) {
	dsn := apptest.PostgresDSN(t)
	if dsn == "" {
		t.Skip("PostgreSQL is needed for replicas")
	}
	dir := t.TempDir()
	writeComponent(t, filepath.Join(dir, "catalog.yaml"), "first")

	a := startReplica(t, dsn, dir, app.RoleAll)
	b := startReplica(t, dsn, dir, app.RoleAll)
	api := startReplica(t, dsn, dir, app.RoleAPI)

	byName := func(r *replica, name string) int {
		return status(t, r.url+"/api/catalog/entities/by-name/component/default/"+name)
	}
	waitFor(t, 10*time.Second, "the leader ingests the static location", func() bool { return byName(b, "first") == 200 })

	leaders := 0
	for _, r := range []*replica{a, b, api} {
		if r.app.Engine().Leading() {
			leaders++
		}
	}
	if leaders != 1 || api.app.Engine().Leading() {
		t.Fatalf("want exactly one leader among the all-role replicas, got %d (api leading: %v)", leaders, api.app.Engine().Leading())
	}
	leader, follower := a, b
	if b.app.Engine().Leading() {
		leader, follower = b, a
	}

	// Warm the follower's caches: the entity, and the facet counts.
	for _, r := range []*replica{follower, api} {
		if got := byName(r, "second"); got != 404 {
			t.Fatalf("second exists before it was registered: %d", got)
		}
		_ = status(t, r.url+"/api/catalog/entity-facets?facet=kind")
	}
	// Live page streams on every replica.
	streams := map[string]<-chan string{}
	for name, r := range map[string]*replica{"follower": follower, "api": api} {
		streams[name] = openStream(t, r.url+"/events/catalog")
	}

	// A change through the api replica: register a second location.
	second := filepath.Join(dir, "second.yaml")
	writeComponent(t, second, "second")
	body := fmt.Sprintf(`{"type":"file","target":%q}`, second)
	resp, err := http.Post(api.url+"/api/catalog/locations", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("registering a location through the api replica: %d %s", resp.StatusCode, msg)
	}
	for _, r := range []*replica{follower, leader, api} {
		took := waitFor(t, 5*time.Second, "the new entity through "+r.url, func() bool { return byName(r, "second") == 200 })
		if took > time.Second {
			t.Errorf("the change reached %s after %s; want within 1s", r.url, took)
		}
		facets := get(t, r.url+"/api/catalog/entity-facets?facet=metadata.name")
		if !strings.Contains(facets, `"second"`) {
			t.Errorf("facet counts on %s miss the new entity: %s", r.url, facets)
		}
	}
	for name, ch := range streams {
		select {
		case ev := <-ch:
			if !strings.Contains(ev, "component:default/second") && !strings.Contains(ev, `"overflow":true`) {
				t.Errorf("%s stream: unexpected event %s", name, ev)
			}
		case <-time.After(time.Minute):
			t.Errorf("the %s replica's live stream saw no change", name)
		}
	}

	// The leader goes away: the follower takes over and keeps serving.
	leader.stop()
	waitFor(t, 10*time.Second, "the follower takes the lead", follower.app.Engine().Leading)
	if got := byName(follower, "first"); got != 200 {
		t.Fatalf("the follower stopped serving: %d", got)
	}
	writeComponent(t, filepath.Join(dir, "catalog.yaml"), "third")
	waitFor(t, 10*time.Second, "the new leader refreshes the static location", func() bool { return byName(api, "third") == 200 })
}

// openStream reads the data lines of an SSE stream in the background.
func openStream(t *testing.T, url string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d", url, resp.StatusCode)
	}
	ch := make(chan string, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case ch <- line:
				default:
				}
			}
		}
	}()
	return ch
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if json.Unmarshal(b, &v) != nil {
		t.Fatalf("%s: not JSON: %s", url, b)
	}
	return string(b)
}
