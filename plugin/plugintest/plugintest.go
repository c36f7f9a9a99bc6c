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
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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
	return GRPCWith(t, p, 10*time.Second)
}

// GRPCWith is GRPC with the client's per-call timeout.
func GRPCWith(t testing.TB, p plugin.Plugin, callTimeout time.Duration) *rpc.Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	srv := grpc.NewServer()
	plugin.RegisterGRPC(srv, p)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(rpc.DefaultMaxMessageBytes)))
	if err != nil {
		srv.Stop()
		t.Fatalf("dialling the plugin: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
	})
	c, err := rpc.NewConnClient(context.Background(), conn, callTimeout)
	if err != nil {
		t.Fatalf("connecting to the plugin: %v", err)
	}
	return c
}

// Build compiles the main package in dir into a temporary executable and
// returns its path; it needs the go command. When dir is a module of its
// own whose go.mod replaces modules with local directories (as
// examples/plugins/hello replaces Atrium with ../../..), it builds
// through a temporary copy of go.mod (-modfile) with absolute replace
// paths and the go.sum entries of those local modules added, so the build
// works offline from the module cache and never edits the tree.
func Build(t testing.TB, dir string) string {
	t.Helper()
	out, err := BuildErr(dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// BuildErr is Build without a test: it writes the executable to outDir.
func BuildErr(dir, outDir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	out := filepath.Join(outDir, filepath.Base(dir))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	args := []string{"build", "-o", out}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err == nil {
		modfile, err := localModfile(dir, string(mod), outDir)
		if err != nil {
			return "", err
		}
		args = append(args, "-mod=mod", "-modfile="+modfile)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in %s: %v\n%s", dir, err, b)
	}
	return out, nil
}

// localModfile writes a copy of a module's go.mod and go.sum to tmp with
// relative replace targets made absolute and their go.sum merged in.
func localModfile(dir, mod, tmp string) (string, error) {
	sum, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
	var lines []string
	for _, line := range strings.Split(mod, "\n") {
		before, target, ok := strings.Cut(line, "=>")
		target = strings.TrimSpace(target)
		if ok && (strings.HasPrefix(target, "./") || strings.HasPrefix(target, "../")) {
			abs := filepath.Join(dir, target)
			line = before + "=> " + abs
			if b, err := os.ReadFile(filepath.Join(abs, "go.sum")); err == nil {
				sum = append(append(sum, '\n'), b...)
			}
		}
		lines = append(lines, line)
	}
	modfile := filepath.Join(tmp, "go.mod")
	if err := os.WriteFile(modfile, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.sum"), sum, 0o644); err != nil {
		return "", err
	}
	return modfile, nil
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
