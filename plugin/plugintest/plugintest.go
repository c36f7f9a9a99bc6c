// Package plugintest helps plugin authors test a plugin the way Atrium
// uses it: in-process (as a built-in) and over gRPC (as an external
// plugin), with the same assertions.
//
//	func TestGreet(t *testing.T) {
//		plugintest.Both(t, hello.New(), func(t *testing.T, p plugin.Plugin) {
//			plugintest.Provision(t, p, nil)
//			res := plugintest.RunAction(t, p, "hello:greet", map[string]any{"name": "Ada"})
//			if res.Err != nil { t.Fatal(res.Err) }
//			if got, want := res.Outputs["greeting"], "Hello, Ada!"; got != want { … }
//		})
//	}
//
// Over gRPC the plugin is served on a real gRPC connection inside the
// test process, through the same service and client Atrium uses. Build
// and Start run a plugin's main package as a separate process, as Atrium
// does in production.
package plugintest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/plugin"
)

// Both runs f twice as subtests: "in-process" with p itself and "grpc"
// with a gRPC client of p served over a real connection.
func Both(t *testing.T, p plugin.Plugin, f func(t *testing.T, p plugin.Plugin)) {
	t.Helper()
	t.Run("in-process", func(t *testing.T) { f(t, p) })
	t.Run("grpc", func(t *testing.T) { f(t, GRPC(t, p)) })
}

// GRPC serves p on a gRPC connection in this process and returns the
// host's client of it. The server stops when the test ends.
func GRPC(t testing.TB, p plugin.Plugin) *rpc.Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	srv := grpc.NewServer()
	plugin.RegisterGRPC(srv, p)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		srv.Stop()
		t.Fatalf("dialling the plugin: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	c, err := rpc.NewConnClient(context.Background(), conn, 10*time.Second)
	if err != nil {
		t.Fatalf("connecting to the plugin: %v", err)
	}
	return c
}

// Build compiles the main package in dir (a plugin's module or a
// directory of the current module) into a temporary executable and
// returns its path. It needs the go command.
func Build(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(dir))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, b)
	}
	return out
}

// Start runs the plugin executable at path as Atrium does and returns its
// client; the process is killed when the test ends.
func Start(t testing.TB, path string, opts rpc.StartOptions) *rpc.Client {
	t.Helper()
	opts.Path = path
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := rpc.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting plugin %s: %v", path, err)
	}
	t.Cleanup(c.Kill)
	return c
}

// Provision provisions and validates p with config (JSON; nil for none),
// a data directory private to the test and a logger writing to the test log.
func Provision(t testing.TB, p plugin.Plugin, config any) {
	t.Helper()
	var raw json.RawMessage
	if config != nil {
		b, err := json.Marshal(config)
		if err != nil {
			t.Fatalf("encoding the configuration: %v", err)
		}
		raw = b
	}
	host := plugin.Host{
		Logger:  slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BaseURL: "http://atrium.test",
		DataDir: t.TempDir(),
	}
	ctx := context.Background()
	if err := p.Provision(ctx, host, raw); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	if err := p.Validate(ctx); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Cleanup(context.Background()); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// ActionResult is what one action run produced.
type ActionResult struct {
	// Outputs are the outputs, as JSON values (numbers are float64), the
	// same whichever side of gRPC the action ran on.
	Outputs map[string]any
	// Logs are the log lines ("info: message").
	Logs []string
	// Progress are the reported percentages in order.
	Progress []int
	// Workspace is the temporary workspace the action ran in.
	Workspace string
	// Err is what Run returned.
	Err error
}

// RunAction runs the action actionID of p once with input in a fresh
// workspace and returns what it reported. It fails the test if p has no
// such action.
func RunAction(t testing.TB, p plugin.Plugin, actionID string, input map[string]any) ActionResult {
	t.Helper()
	return RunActionRequest(t, p, actionID, plugin.ActionRequest{TaskID: "test", Input: input, Workspace: t.TempDir()})
}

// RunActionRequest is RunAction with a request of your own (an empty
// Workspace gets a temporary directory).
func RunActionRequest(t testing.TB, p plugin.Plugin, actionID string, req plugin.ActionRequest) ActionResult {
	t.Helper()
	a := FindAction(t, p, actionID)
	if req.Workspace == "" {
		req.Workspace = t.TempDir()
	}
	rep := &Reporter{Outputs: map[string]any{}}
	err := a.Run(context.Background(), req, rep)
	return ActionResult{Outputs: rep.Outputs, Logs: rep.Logs, Progress: rep.Percents, Workspace: req.Workspace, Err: err}
}

// FindAction returns p's action actionID or fails the test.
func FindAction(t testing.TB, p plugin.Plugin, actionID string) plugin.Action {
	t.Helper()
	var ids []string
	for _, a := range p.Components().Actions {
		if a.ID() == actionID {
			return a
		}
		ids = append(ids, a.ID())
	}
	t.Fatalf("plugin %s has no action %q (it has %v)", p.Info().ID, actionID, ids)
	return nil
}

// Reporter records what an action reports; outputs are normalised
// through JSON. It is safe for concurrent use.
type Reporter struct {
	mu       sync.Mutex
	Outputs  map[string]any
	Logs     []string
	Percents []int
}

func (r *Reporter) Log(level, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Logs = append(r.Logs, level+": "+message)
}

func (r *Reporter) Output(name string, value any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Outputs == nil {
		r.Outputs = map[string]any{}
	}
	r.Outputs[name] = normalise(value)
}

func (r *Reporter) Progress(percent int, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Percents = append(r.Percents, percent)
}

func normalise(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}

// Mutations runs p's entity provider name until it has emitted n
// mutations (or timeout passes) and returns them.
func Mutations(t testing.TB, p plugin.Plugin, name string, n int, timeout time.Duration) []plugin.Mutation {
	t.Helper()
	var prov plugin.EntityProvider
	for _, pr := range p.Components().Providers {
		if pr.Name() == name {
			prov = pr
		}
	}
	if prov == nil {
		t.Fatalf("plugin %s has no entity provider %q", p.Info().ID, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []plugin.Mutation
	err := prov.Run(ctx, func(_ context.Context, m plugin.Mutation) error {
		got = append(got, m)
		if len(got) >= n {
			cancel()
		}
		return nil
	})
	if len(got) < n {
		t.Fatalf("provider %s emitted %d mutations within %s, want %d (Run: %v)", name, len(got), timeout, n, err)
	}
	return got
}

// RenderCard renders p's entity card cardID for entity (any JSON value).
func RenderCard(t testing.TB, p plugin.Plugin, cardID string, entity any) (plugin.View, error) {
	t.Helper()
	b, err := json.Marshal(entity)
	if err != nil {
		t.Fatalf("encoding the entity: %v", err)
	}
	for _, c := range p.Components().Cards {
		if c.ID() == cardID {
			return c.Render(context.Background(), b)
		}
	}
	t.Fatalf("plugin %s has no entity card %q", p.Info().ID, cardID)
	return plugin.View{}, nil
}
