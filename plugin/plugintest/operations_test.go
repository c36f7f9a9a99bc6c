package plugintest_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// jobPlugin has one action that starts a "job" once per step: the first
// run saves the job's resume token and stops half-way (as when Atrium
// stops); a rerun of the step resumes the job from the token and ends it.
type jobPlugin struct{}

func (jobPlugin) Info() plugin.Info {
	return plugin.Info{ID: "jobs", Version: "1.0.0", APIVersions: ">=1.0.0 <2.0.0"}
}
func (jobPlugin) Provision(context.Context, plugin.Host, json.RawMessage) error { return nil }
func (jobPlugin) Validate(context.Context) error                                { return nil }
func (jobPlugin) Cleanup(context.Context) error                                 { return nil }
func (jobPlugin) Components() plugin.Components {
	return plugin.Components{Actions: []plugin.Action{jobAction{}}}
}

type jobAction struct{}

func (jobAction) ID() string                                 { return "jobs:run" }
func (jobAction) Description() string                        { return "Runs a job once per step." }
func (jobAction) Schema() (json.RawMessage, json.RawMessage) { return nil, nil }

type jobToken struct {
	JobID int `json:"jobId"`
}

func (jobAction) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	step := plugin.OperationKind{System: func() string { return plugin.SystemName("jobs", "http://jobs.example.com") }, Kind: "job"}.Step(req)
	var tok jobToken
	if _, ok := step.Resume(ctx, &tok); ok {
		rep.Output("resumedJob", tok.JobID)
		step.End(ctx, nil)
		return nil
	}
	if err := step.Save(ctx, "42", "http://jobs.example.com/42", jobToken{JobID: 42}); err != nil {
		return err
	}
	rep.Output("startedJob", 42)
	return nil
}

func TestOperationsResume(t *testing.T) {
	plugintest.Both(t, jobPlugin{}, func(t *testing.T, p plugin.Plugin) {
		ops := plugintest.NewOperations(t)
		req := plugin.ActionRequest{TaskID: "task-1", StepID: "deploy", Operations: ops.For("jobs", "task-1", "deploy")}

		first := plugintest.RunActionRequest(t, p, "jobs:run", req)
		if first.Err != nil || first.Outputs["startedJob"] != float64(42) {
			t.Fatalf("first run: got %v, %v, want job 42 started", first.Outputs, first.Err)
		}
		list := ops.List(t, "task-1")
		if len(list) != 1 || list[0].State != plugin.OperationRunning || list[0].System != "jobs:jobs.example.com" || list[0].ExternalID != "42" || list[0].StepID != "deploy" {
			t.Fatalf("after the first run: got %+v, want one running operation of job 42", list)
		}

		second := plugintest.RunActionRequest(t, p, "jobs:run", req)
		if second.Err != nil || second.Outputs["resumedJob"] != float64(42) {
			t.Fatalf("rerun: got %v, %v, want job 42 resumed", second.Outputs, second.Err)
		}
		list = ops.List(t, "task-1")
		if len(list) != 1 || list[0].State != plugin.OperationSucceeded {
			t.Fatalf("after the rerun: got %+v, want the same operation succeeded", list)
		}

		// A final operation cannot run again, whichever side asks.
		_, err := req.Operations.Update(context.Background(), list[0].ID, plugin.OperationUpdate{State: plugin.OperationRunning})
		if err == nil {
			t.Error("succeeded → running: got no error, want a conflict")
		}
		// Another step's operation is out of reach.
		other := ops.For("jobs", "task-2", "deploy")
		if _, err := other.Get(context.Background(), list[0].ID); err == nil {
			t.Error("another task read this task's operation")
		}
	})
}
