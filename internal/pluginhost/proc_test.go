package pluginhost

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/plugin"
)

// The tests run real plugin processes: this test binary, started again
// with ATRIUM_TEST_PLUGIN set, answers a line-based JSON protocol on
// stdin/stdout (the gRPC transport is tested in internal/pluginhost/rpc).
// Modes: "echo" answers; "leak" also allocates memory until killed.
const childEnv = "ATRIUM_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		runChild(mode)
		return
	}
	os.Exit(m.Run())
}

type childRequest struct {
	Seq     int    `json:"seq"`
	SleepMs int    `json:"sleepMs"`
	Text    string `json:"text"`
}

type childResponse struct {
	Seq  int    `json:"seq"`
	Text string `json:"text"`
	Pid  int    `json:"pid"`
}

var leaked [][]byte

func runChild(mode string) {
	if mode == "leak" {
		go func() {
			for {
				b := make([]byte, 4<<20)
				for i := range b {
					b[i] = byte(i)
				}
				leaked = append(leaked, b)
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var req childRequest
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			os.Exit(3)
		}
		go func() {
			time.Sleep(time.Duration(req.SleepMs) * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(childResponse{Seq: req.Seq, Text: req.Text, Pid: os.Getpid()})
		}()
	}
	os.Exit(0)
}

// procLauncher starts the test binary as a plugin process.
type procLauncher struct {
	mode string
	// fail, when set, makes launches fail (a broken executable).
	mu       sync.Mutex
	fail     bool
	launches int
	version  string
}

func (l *procLauncher) setFail(v bool) {
	l.mu.Lock()
	l.fail = v
	l.mu.Unlock()
}

func (l *procLauncher) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.launches
}

func (l *procLauncher) Launch(ctx context.Context, spec LaunchSpec) (Process, error) {
	l.mu.Lock()
	l.launches++
	fail := l.fail
	l.mu.Unlock()
	if fail {
		return nil, errors.New("exec format error")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+l.mode)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &procPlugin{cmd: cmd, enc: json.NewEncoder(in), pending: map[int]chan childResponse{}, exited: make(chan struct{}),
		info: plugin.Info{ID: spec.ID, Version: spec.Version, APIVersions: ">=1.0.0 <2.0.0", Description: "test plugin"}}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var resp childResponse
			if json.Unmarshal(sc.Bytes(), &resp) == nil {
				p.mu.Lock()
				ch := p.pending[resp.Seq]
				delete(p.pending, resp.Seq)
				p.mu.Unlock()
				if ch != nil {
					ch <- resp
				}
			}
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// procPlugin is the host side of a test plugin process: one action,
// "test:echo", which answers its input's text after sleepMs.
type procPlugin struct {
	cmd     *exec.Cmd
	info    plugin.Info
	exited  chan struct{}
	mu      sync.Mutex
	enc     *json.Encoder
	seq     int
	pending map[int]chan childResponse
}

func (p *procPlugin) Info() plugin.Info                                             { return p.info }
func (p *procPlugin) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }
func (p *procPlugin) Validate(context.Context) error                                { return nil }
func (p *procPlugin) Cleanup(context.Context) error                                 { return nil }
func (p *procPlugin) Pid() int                                                      { return p.cmd.Process.Pid }
func (p *procPlugin) Exited() <-chan struct{}                                       { return p.exited }
func (p *procPlugin) Kill()                                                         { _ = p.cmd.Process.Kill() }
func (p *procPlugin) Components() plugin.Components {
	return plugin.Components{Actions: []plugin.Action{echoAction{p}}}
}

func (p *procPlugin) ask(ctx context.Context, req childRequest) (childResponse, error) {
	ch := make(chan childResponse, 1)
	p.mu.Lock()
	p.seq++
	req.Seq = p.seq
	p.pending[req.Seq] = ch
	err := p.enc.Encode(req)
	p.mu.Unlock()
	if err != nil {
		return childResponse{}, fmt.Errorf("writing to the plugin: %w", err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-p.exited:
		return childResponse{}, errors.New("connection closed")
	case <-ctx.Done():
		return childResponse{}, ctx.Err()
	}
}

type echoAction struct{ p *procPlugin }

func (echoAction) ID() string                                 { return "test:echo" }
func (echoAction) Description() string                        { return "Echoes its input." }
func (echoAction) Schema() (json.RawMessage, json.RawMessage) { return nil, nil }
func (a echoAction) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	sleep, _ := req.Input["sleepMs"].(int)
	text, _ := req.Input["text"].(string)
	resp, err := a.p.ask(ctx, childRequest{SleepMs: sleep, Text: text})
	if err != nil {
		return err
	}
	rep.Output("text", resp.Text)
	rep.Output("pid", strconv.Itoa(resp.Pid))
	return nil
}

// outputs collects an action's outputs.
type outputs struct {
	mu sync.Mutex
	m  map[string]any
}

func (o *outputs) Log(string, string)   {}
func (o *outputs) Progress(int, string) {}
func (o *outputs) Output(name string, v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]any{}
	}
	o.m[name] = v
}

func (o *outputs) get(name string) any {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.m[name]
}

// echo runs the supervisor's test:echo action.
func echo(ctx context.Context, s *Supervisor, text string, sleepMs int) (string, error) {
	acts := s.Components().Actions
	if len(acts) != 1 {
		return "", fault.New(fault.Internal, "want 1 action, got %d", len(acts))
	}
	var out outputs
	err := acts[0].Run(ctx, plugin.ActionRequest{Input: map[string]any{"text": text, "sleepMs": sleepMs}}, &out)
	if err != nil {
		return "", err
	}
	got, _ := out.get("text").(string)
	return got, nil
}
