package rpc_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

var (
	buildOnce sync.Once
	helloPath string
	buildErr  error
	binDir    string
)

// helloBinary builds examples/plugins/hello (its own module) once per run.
// It builds offline from the module cache (see plugintest.Build).
func helloBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the example plugin")
	}
	buildOnce.Do(func() {
		binDir, buildErr = osMkdirTemp()
		if buildErr != nil {
			return
		}
		helloPath, buildErr = plugintest.BuildErr("../../../examples/plugins/hello", binDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return helloPath
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "atrium-hello-*") }

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func startHello(t *testing.T, opts rpc.StartOptions) *rpc.Client {
	t.Helper()
	c := plugintest.Start(t, helloBinary(t), opts)
	plugintest.Provision(t, c, map[string]any{"greeting": "Hi", "refresh": "50ms"})
	return c
}

func TestExampleOutOfProcess(t *testing.T) {
	c := startHello(t, rpc.StartOptions{})
	if got, want := c.Info().ID, "hello"; got != want {
		t.Fatalf("Info().ID = %q, want %q", got, want)
	}

	res := plugintest.RunAction(t, c, "hello:greet", map[string]any{"name": "Ada", "file": "out/greeting.txt"})
	if res.Err != nil {
		t.Fatalf("hello:greet: %v", res.Err)
	}
	if got, want := res.Outputs["greeting"], "Hi, Ada!"; got != want {
		t.Errorf("output greeting = %v, want %v", got, want)
	}
	b, err := os.ReadFile(filepath.Join(res.Workspace, "out/greeting.txt"))
	if err != nil || string(b) != "Hi, Ada!\n" {
		t.Errorf("workspace file = %q, %v; want %q", b, err, "Hi, Ada!\n")
	}
	if got, want := res.Progress, []int{50, 100}; !equalInts(got, want) {
		t.Errorf("progress = %v, want %v", got, want)
	}

	bad := plugintest.RunAction(t, c, "hello:greet", map[string]any{"name": ""})
	if !fault.Is(bad.Err, fault.Invalid) || plugin.KindOf(bad.Err) != plugin.ErrInvalid {
		t.Errorf("empty name: err = %v (fault %s, plugin %s), want invalid", bad.Err, fault.KindOf(bad.Err), plugin.KindOf(bad.Err))
	}
	if !strings.Contains(fault.MessageOf(bad.Err), "input.name") {
		t.Errorf("empty name: message %q does not name input.name", fault.MessageOf(bad.Err))
	}

	muts := plugintest.Mutations(t, c, "hello-greeters", 2, 10*time.Second)
	if muts[0].Type != plugin.MutationFull || len(muts[0].Entities) != 3 {
		t.Errorf("first mutation = %s with %d entities, want full with 3", muts[0].Type, len(muts[0].Entities))
	}
	if muts[1].Type != plugin.MutationDelta || len(muts[1].Entities) != 1 {
		t.Errorf("second mutation = %s with %d entities, want delta with 1", muts[1].Type, len(muts[1].Entities))
	}

	view, err := plugintest.RenderCard(t, c, "greeting", map[string]any{
		"kind": "Component", "metadata": map[string]any{"name": "svc"}, "spec": map[string]any{"lifecycle": "production", "owner": "team-a"},
	})
	if err != nil {
		t.Fatalf("RenderCard: %v", err)
	}
	if len(view.Blocks) != 4 || view.Blocks[0].KeyValues[0].Value != "Hi, svc!" || view.Blocks[1].Badges[0].Status != plugin.StatusOK || len(view.Blocks[2].TimeSeries.Points) != 7 {
		t.Errorf("view = %+v", view)
	}

	rss, err := c.RSS()
	if err != nil || rss < 1<<20 {
		t.Errorf("RSS = %d, %v; want over 1 MiB", rss, err)
	}
}

// TestKillMidCall kills the plugin with SIGKILL while an action runs: the
// caller gets an Unavailable error within the timeout, later calls fail
// at once, and nothing hangs.
func TestKillMidCall(t *testing.T) {
	c := plugintest.Start(t, helloBinary(t), rpc.StartOptions{CallTimeout: 2 * time.Second})
	if err := c.Provision(context.Background(), plugin.Host{}, nil); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	done := make(chan plugintest.ActionResult, 1)
	go func() {
		done <- plugintest.RunAction(t, c, "hello:greet", map[string]any{"name": "Ada", "waitSeconds": 30})
	}()
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(c.Pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case res := <-done:
		if !fault.Is(res.Err, fault.Unavailable) {
			t.Fatalf("err = %v (%s), want Unavailable", res.Err, fault.KindOf(res.Err))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the action call did not return within 5s of the kill")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !c.Exited() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	_, err := plugintest.RenderCard(t, c, "greeting", map[string]any{"kind": "Component"})
	if !fault.Is(err, fault.Unavailable) || !strings.Contains(fault.MessageOf(err), "not running") {
		t.Errorf("call after the kill: err = %v, want Unavailable saying it is not running", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("call after the kill took %s, want it to fail at once", d)
	}
}

func TestCancelReachesThePlugin(t *testing.T) {
	c := startHello(t, rpc.StartOptions{})
	a := plugintest.FindAction(t, c, "hello:greet")
	ctx, cancel := context.WithCancel(context.Background())
	ws := t.TempDir()
	errc := make(chan error, 1)
	go func() {
		errc <- a.Run(ctx, plugin.ActionRequest{Input: map[string]any{"name": "Ada", "waitSeconds": 30}, Workspace: ws}, &plugintest.Reporter{})
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled action did not return")
	}
	if _, err := os.Stat(filepath.Join(ws, "hello.txt")); !os.IsNotExist(err) {
		t.Errorf("the cancelled action wrote its file (stat: %v)", err)
	}
	// The plugin is still serving.
	if res := plugintest.RunAction(t, c, "hello:greet", map[string]any{"name": "Bo"}); res.Err != nil {
		t.Errorf("after cancel: %v", res.Err)
	}
}

func TestVersionMismatchRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	out := filepath.Join(t.TempDir(), "v2plugin")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/v2plugin")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	_, err := rpc.Start(context.Background(), rpc.StartOptions{Path: out})
	if !fault.Is(err, fault.Invalid) {
		t.Fatalf("err = %v (%s), want Invalid", err, fault.KindOf(err))
	}
	msg := fault.MessageOf(err)
	for _, want := range []string{"protocol", "Plugin version: 2", "protocol 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
}

func TestChecksumMismatchRefused(t *testing.T) {
	path := helloBinary(t)
	wrong := sha256.Sum256([]byte("not the binary"))
	_, err := rpc.Start(context.Background(), rpc.StartOptions{Path: path, SecureChecksum: wrong[:]})
	if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.MessageOf(err), "checksum") {
		t.Fatalf("err = %v, want Invalid about the checksum", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	right := sha256.Sum256(b)
	c := plugintest.Start(t, path, rpc.StartOptions{SecureChecksum: right[:]})
	if c.Info().ID != "hello" {
		t.Errorf("with the right checksum: Info().ID = %q", c.Info().ID)
	}
}

func TestStartErrors(t *testing.T) {
	for i, tc := range []struct {
		path string
		want string
	}{
		{"", "no path"},
		{"/nonexistent/plugin", "could not be started"},
	} {
		_, err := rpc.Start(context.Background(), rpc.StartOptions{Path: tc.path, StartTimeout: 2 * time.Second})
		if err == nil || !strings.Contains(fault.MessageOf(err), tc.want) {
			t.Errorf("%d: Start(%q) = %v, want an error containing %q", i, tc.path, err, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
