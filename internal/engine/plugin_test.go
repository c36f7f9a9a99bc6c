package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/plugin"
)

// stampProcessor adds an annotation and a relation, refuses entities
// named "refuse-me" and fails on "crash-me".
type stampProcessor struct{ calls atomic.Int32 }

func (p *stampProcessor) Name() string { return "stamp" }

func (p *stampProcessor) Process(_ context.Context, raw json.RawMessage) (plugin.ProcessResult, error) {
	p.calls.Add(1)
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.ProcessResult{}, err
	}
	md := e["metadata"].(map[string]any)
	switch md["name"] {
	case "refuse-me":
		return plugin.ProcessResult{Problems: []plugin.Problem{{Level: "error", Field: "metadata.name", Message: "names like this are not allowed"}}}, nil
	case "crash-me":
		return plugin.ProcessResult{}, errors.New("processor crashed")
	}
	ann, _ := md["annotations"].(map[string]any)
	ann["stamp.example.com/seen"] = "yes"
	b, _ := json.Marshal(e)
	return plugin.ProcessResult{
		Entity:    b,
		Relations: []plugin.Relation{{Type: "dependsOn", TargetRef: "component:default/stamp-target"}},
		Problems:  []plugin.Problem{{Level: "warning", Message: "just saying"}},
	}, nil
}

func TestPluginProcessor(t *testing.T) {
	proc := &stampProcessor{}
	e := newEngine(t, Config{Processors: []plugin.Processor{proc}})
	conn := connect(t, e, "test")
	ctx := context.Background()
	m := Mutation{Type: MutationFull, Entities: []Deferred{providedGroup("team-a", true), providedGroup("refuse-me", true), providedGroup("crash-me", true)}}
	if err := conn.ApplyMutation(ctx, m); err != nil {
		t.Fatalf("ApplyMutation: %v", err)
	}
	got, err := e.EntityByRef(ctx, "group:default/team-a")
	if err != nil {
		t.Fatalf("team-a: %v", err)
	}
	if got.Metadata.Annotations["stamp.example.com/seen"] != "yes" {
		t.Errorf("team-a annotations = %v, want the processor's stamp", got.Metadata.Annotations)
	}
	var found bool
	for _, r := range got.Relations {
		if r.Type == "dependsOn" && r.TargetRef == "component:default/stamp-target" {
			found = true
		}
	}
	if !found {
		t.Errorf("team-a relations = %v, want dependsOn component:default/stamp-target", got.Relations)
	}
	if _, err := e.EntityByRef(ctx, "group:default/refuse-me"); !fault.Is(err, fault.NotFound) {
		t.Errorf("refuse-me: err = %v, want it kept out (NotFound)", err)
	}
	if _, err := e.EntityByRef(ctx, "group:default/crash-me"); err != nil {
		t.Errorf("crash-me: a failing processor must not keep the entity out: %v", err)
	}
	if err := e.AddProcessor(&stampProcessor{}); err == nil {
		t.Error("adding a second processor named stamp succeeded")
	}
}

// labeller is a processor named after its plugin that adds a label.
type labeller struct{ name string }

func (l labeller) Name() string { return l.name }

func (l labeller) Process(_ context.Context, raw json.RawMessage) (plugin.ProcessResult, error) {
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.ProcessResult{}, err
	}
	md := e["metadata"].(map[string]any)
	md["labels"] = map[string]any{"seen-by": l.name}
	b, err := json.Marshal(e)
	return plugin.ProcessResult{Entity: b}, err
}

// TestProcessorAddedWhileRunning adds and removes a processor while
// mutations are applied from other goroutines (run with -race).
func TestProcessorAddedWhileRunning(t *testing.T) {
	e := newEngine(t, Config{})
	conn := connect(t, e, "test")
	ctx := context.Background()
	apply := func(name string) *catalog.Entity {
		t.Helper()
		if err := conn.ApplyMutation(ctx, Mutation{Type: MutationDelta, Entities: []Deferred{providedGroup(name, true)}}); err != nil {
			t.Fatalf("ApplyMutation %s: %v", name, err)
		}
		return mustEntity(t, e, "group:default/"+name)
	}
	if got := apply("before").Metadata.Labels["seen-by"]; got != "" {
		t.Fatalf("before: label %q, want none", got)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 20 {
			_ = conn.ApplyMutation(ctx, Mutation{Type: MutationDelta, Entities: []Deferred{providedGroup(fmt.Sprintf("churn-%d", i), true)}})
		}
	})
	if err := e.AddProcessor(labeller{"late"}); err != nil {
		t.Fatalf("AddProcessor while running: %v", err)
	}
	wg.Wait()
	if got := apply("during").Metadata.Labels["seen-by"]; got != "late" {
		t.Fatalf("during: label %q, want late", got)
	}
	if err := e.RemoveProcessor("late"); err != nil {
		t.Fatal(err)
	}
	if err := e.RemoveProcessor("late"); err == nil {
		t.Fatal("removing late twice succeeded")
	}
	if got := apply("after").Metadata.Labels["seen-by"]; got != "" {
		t.Fatalf("after: label %q, want none", got)
	}
}

// stoppable is a plugin provider that emits one group and records when
// it is stopped. stopped is closed when Run returns: RemoveProvider can
// cancel it while the entity is already visible but emit has not yet
// returned (it then fails with the cancellation), and Run has returned
// either way.
type stoppable struct {
	stopped chan struct{}
	once    sync.Once
}

func (s *stoppable) Name() string { return "late" }

func (s *stoppable) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	defer s.once.Do(func() { close(s.stopped) })
	if err := emit(ctx, plugin.Mutation{Type: plugin.MutationFull, Entities: []json.RawMessage{providedGroup("late-one", true).Entity}}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// TestProviderAddedWhileRunning adds a provider after Run started: it
// connects at once; RemoveProvider stops it and keeps its entities.
func TestProviderAddedWhileRunning(t *testing.T) {
	e := newEngine(t, Config{})
	connect(t, e, "other")
	ctx := context.Background()
	p := &stoppable{stopped: make(chan struct{})}
	pp := &PluginProvider{PluginID: "x", Provider: p}
	if err := e.AddProvider(pp); err != nil {
		t.Fatalf("AddProvider while running: %v", err)
	}
	if err := e.AddProvider(pp); err == nil {
		t.Fatal("adding the same provider twice succeeded")
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := e.EntityByRef(ctx, "group:default/late-one"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after a minute the late provider's entity is not there: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.RemoveProvider(rctx, pp.Name()); err != nil {
		t.Fatalf("RemoveProvider: %v", err)
	}
	select {
	case <-p.stopped:
	default:
		t.Fatal("RemoveProvider returned before the provider stopped")
	}
	if err := e.RemoveProvider(rctx, pp.Name()); err == nil {
		t.Fatal("removing the provider twice succeeded")
	}
	if err := e.RemoveProvider(rctx, "config"); err == nil {
		t.Fatal("removing a built-in provider succeeded")
	}
	mustEntity(t, e, "group:default/late-one")
	// Added again, it connects again.
	p2 := &stoppable{stopped: make(chan struct{})}
	if err := e.AddProvider(&PluginProvider{PluginID: "x", Provider: p2}); err != nil {
		t.Fatalf("adding it again: %v", err)
	}
}

// greeters is a plugin provider: a full mutation, then deltas.
type greeters struct{ runs atomic.Int32 }

func (g *greeters) Name() string { return "greeters" }

func (g *greeters) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	if g.runs.Add(1) == 1 {
		return errors.New("first run fails, to test the restart")
	}
	full := plugin.Mutation{Type: plugin.MutationFull}
	for _, n := range []string{"g-one", "g-two"} {
		full.Entities = append(full.Entities, providedGroup(n, true).Entity)
	}
	if err := emit(ctx, full); err != nil {
		return err
	}
	if err := emit(ctx, plugin.Mutation{Type: plugin.MutationDelta, Removed: []string{"group:default/g-two"}}); err != nil {
		return err
	}
	if err := emit(ctx, plugin.Mutation{Type: "sideways"}); err == nil || plugin.KindOf(err) != plugin.ErrInvalid {
		return errors.New("a bad mutation type was accepted")
	}
	<-ctx.Done()
	return nil
}

func TestPluginProvider(t *testing.T) {
	e := newEngine(t, Config{})
	g := &greeters{}
	pp := &PluginProvider{PluginID: "hello", Provider: g, MinBackoff: 10 * time.Millisecond}
	if got, want := pp.Name(), "plugin:hello:greeters"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if err := e.AddProvider(pp); err != nil {
		t.Fatal(err)
	}
	connect(t, e, "other")
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute)
	for {
		_, errOne := e.EntityByRef(ctx, "group:default/g-one")
		_, errTwo := e.EntityByRef(ctx, "group:default/g-two")
		if errOne == nil && fault.Is(errTwo, fault.NotFound) && g.runs.Load() >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: g-one: %v; g-two: %v (want it removed); runs: %d", errOne, errTwo, g.runs.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// handCluster is a Cluster whose leadership the test hands out.
type handCluster struct {
	grant chan context.Context
}

func (c *handCluster) Publish(context.Context, ChangeEvent) error { return nil }

func (c *handCluster) Listen(ctx context.Context, _ func(ChangeEvent)) error {
	<-ctx.Done()
	return ctx.Err()
}

func (c *handCluster) Lead(ctx context.Context) (context.Context, func(), error) {
	select {
	case lctx := <-c.grant:
		return lctx, func() {}, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// TestProviderAddedOnFollower: a provider added while another replica
// leads does not run; it connects when this replica leads and stops when
// the lead is lost.
func TestProviderAddedOnFollower(t *testing.T) {
	hc := &handCluster{grant: make(chan context.Context)}
	e := newEngine(t, Config{Cluster: hc})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	p := &stoppable{stopped: make(chan struct{})}
	if err := e.AddProvider(&PluginProvider{PluginID: "x", Provider: p}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := e.EntityByRef(ctx, "group:default/late-one"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("on a follower the provider ran: %v", err)
	}
	lctx, lose := context.WithCancel(ctx)
	hc.grant <- lctx
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := e.EntityByRef(ctx, "group:default/late-one"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after leading for a minute the provider's entity is not there: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	lose()
	select {
	case <-p.stopped:
	case <-time.After(time.Minute):
		t.Fatal("the provider kept running after the lead was lost")
	}
}

// panicky is a built-in plugin's processor that panics on components
// once told to.
type panicky struct{ on atomic.Bool }

func (p *panicky) Name() string { return "acme:panicky" }

func (p *panicky) Process(_ context.Context, raw json.RawMessage) (plugin.ProcessResult, error) {
	if p.on.Load() && strings.Contains(string(raw), `"kind":"Component"`) {
		var m map[string]string
		m["token=s3cret"] = "x" // a nil map: a panic
	}
	return plugin.ProcessResult{}, nil
}

// TestProcessorPanic: a processor that panics fails the entity, which
// keeps its last good version with an error naming the plugin in its
// status.items; the engine (and the process) go on. Without the recover
// the panic ends the test binary.
func TestProcessorPanic(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "svc.yaml")
	writeFile(t, file, component("svc", "team-a"))
	proc := &panicky{}
	e := newEngine(t, Config{StaticLocations: []StaticLocation{{Type: "file", Target: file}}, Processors: []plugin.Processor{proc}})
	refreshAll(t, e)
	mustEntity(t, e, "component:default/svc")

	proc.on.Store(true)
	writeFile(t, file, component("svc", "team-bravo"))
	refreshAll(t, e)
	ent := mustEntity(t, e, "component:default/svc")
	if got := ent.Spec["owner"]; got != "team-a" {
		t.Errorf("spec.owner: got %v, want the last good team-a", got)
	}
	msgs := strings.Join(statusMessages(ent), "\n")
	if !strings.Contains(msgs, "plugin acme panicked in processor acme:panicky: Process") {
		t.Errorf("status: got %q, want the panic named", msgs)
	}
	if strings.Contains(msgs, "s3cret") {
		t.Errorf("status: the panic's value reached users: %q", msgs)
	}

	proc.on.Store(false)
	refreshAll(t, e)
	if ent := mustEntity(t, e, "component:default/svc"); ent.Status != nil || ent.Spec["owner"] != "team-bravo" {
		t.Errorf("after the fix: status %q owner %v, want none and team-bravo", statusMessages(ent), ent.Spec["owner"])
	}
}

// panickingProvider panics in its first run and emits one group in the
// next.
type panickingProvider struct{ runs atomic.Int32 }

func (p *panickingProvider) Name() string { return "panicking" }

func (p *panickingProvider) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	if p.runs.Add(1) == 1 {
		var m map[string]int
		m["boom"]++
	}
	if err := emit(ctx, plugin.Mutation{Type: plugin.MutationFull, Entities: []json.RawMessage{providedGroup("after-panic", true).Entity}}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// lockedBuffer is a log sink safe for the engine's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPluginProviderPanic: a built-in's provider whose Run panics is run
// again after the backoff, like one that returned an error, with the
// panic, the plugin and the stack in the log. Without the recover the
// panic ends the test binary.
func TestPluginProviderPanic(t *testing.T) {
	e := newEngine(t, Config{})
	var logs lockedBuffer
	p := &panickingProvider{}
	pp := &PluginProvider{PluginID: "acme", Provider: p, MinBackoff: 10 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	if err := e.AddProvider(pp); err != nil {
		t.Fatal(err)
	}
	connect(t, e, "other")
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := e.EntityByRef(context.Background(), "group:default/after-panic"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the provider has not run again (runs: %d); log: %s", p.runs.Load(), logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range []string{"plugin acme panicked in entity provider panicking: Run", "assignment to entry in nil map", "plugin_test.go", "running it again later"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("the log lacks %q: %s", s, logs.String())
		}
	}
}
