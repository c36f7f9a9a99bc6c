package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// kit is a plugin with a processor and a service, to check they behave
// the same in-process and over gRPC.
type kit struct {
	runs atomic.Int32
}

func (k *kit) Info() plugin.Info {
	return plugin.Info{ID: "kit", Version: "0.1.0", APIVersions: "^1.0"}
}
func (k *kit) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }
func (k *kit) Validate(context.Context) error                                { return nil }
func (k *kit) Cleanup(context.Context) error                                 { return nil }
func (k *kit) Components() plugin.Components {
	return plugin.Components{Processors: []plugin.Processor{tagger{}}, Services: []plugin.Service{&ticker{k: k}}}
}

type tagger struct{}

func (tagger) Name() string { return "tagger" }
func (tagger) Process(_ context.Context, raw json.RawMessage) (plugin.ProcessResult, error) {
	var e map[string]any
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.ProcessResult{}, plugin.Errorf(plugin.ErrInvalid, "not JSON: %v", err)
	}
	if e["kind"] == "Bad" {
		return plugin.ProcessResult{}, plugin.Errorf(plugin.ErrConflict, "kind Bad clashes")
	}
	e["tagged"] = true
	b, _ := json.Marshal(e)
	return plugin.ProcessResult{
		Entity:    b,
		Relations: []plugin.Relation{{Type: "dependsOn", TargetRef: "component:default/db"}},
		Problems:  []plugin.Problem{{Level: "warning", Field: "spec.owner", Message: "no owner"}},
	}, nil
}

type ticker struct{ k *kit }

func (t *ticker) Name() string { return "ticker" }
func (t *ticker) Run(ctx context.Context) error {
	t.k.runs.Add(1)
	<-ctx.Done()
	return errors.New("stopped")
}

func TestProcessorAndServiceBothWays(t *testing.T) {
	var results []plugin.ProcessResult
	plugintest.Both(t, &kit{}, func(t *testing.T, p plugin.Plugin) {
		proc := p.Components().Processors[0]
		res, err := proc.Process(context.Background(), json.RawMessage(`{"kind":"Component"}`))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
		_, err = proc.Process(context.Background(), json.RawMessage(`{"kind":"Bad"}`))
		if plugin.KindOf(err) != plugin.ErrConflict {
			t.Errorf("Bad: err = %v, want conflict", err)
		}

		svc := p.Components().Services[0]
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err == nil {
				t.Error("service Run returned nil, want its error or the cancellation")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the service did not stop when its context ended")
		}
	})
	if len(results) == 2 {
		var a, b map[string]any
		_ = json.Unmarshal(results[0].Entity, &a)
		_ = json.Unmarshal(results[1].Entity, &b)
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(results[0].Relations, results[1].Relations) || !reflect.DeepEqual(results[0].Problems, results[1].Problems) {
			t.Errorf("in-process and gRPC results differ:\n%+v\n%+v", results[0], results[1])
		}
		if a["tagged"] != true {
			t.Errorf("entity = %v, want tagged", a)
		}
	}
	// Over gRPC, the kind reaches Atrium's error model too.
	c := plugintest.GRPC(t, &kit{})
	_, err := c.Components().Processors[0].Process(context.Background(), json.RawMessage(`{"kind":"Bad"}`))
	if !fault.Is(err, fault.Conflict) || fault.MessageOf(err) != "plugin kit: kind Bad clashes" {
		t.Errorf("over gRPC: %v (%s), want Conflict \"plugin kit: kind Bad clashes\"", err, fault.KindOf(err))
	}
}
