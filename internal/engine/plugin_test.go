package engine

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

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
		t.Error("AddProcessor after Run succeeded")
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, errOne := e.EntityByRef(ctx, "group:default/g-one")
		_, errTwo := e.EntityByRef(ctx, "group:default/g-two")
		if errOne == nil && fault.Is(errTwo, fault.NotFound) && g.runs.Load() >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: g-one: %v; g-two: %v (want it removed); runs: %d", errOne, errTwo, g.runs.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
