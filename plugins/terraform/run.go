package terraform

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/atrium-portal/atrium/internal/integrations/tfc"
	"github.com/atrium-portal/atrium/plugin"
)

// RunAction is terraform:run.
type RunAction struct{ p *Plugin }

var _ plugin.Action = (*RunAction)(nil)

func (a *RunAction) ID() string { return "terraform:run" }

func (a *RunAction) Description() string {
	return "Uploads a folder of the task's workspace as a configuration version, runs plan and policy checks, applies when the workspace auto-applies or input.apply is true, and outputs the state outputs."
}

func (a *RunAction) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["workspace"],
  "additionalProperties": false,
  "properties": {
    "organization": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
    "workspace": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,90}$"},
    "directory": {"type": "string", "description": "folder of the task workspace to upload (default: the whole workspace)"},
    "message": {"type": "string"},
    "apply": {"type": "boolean", "description": "confirm the apply when the workspace does not auto-apply"},
    "timeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$", "description": "how long to wait for the run (default 30m); the run is cancelled after"}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "runId": {"type": "string"},
    "status": {"type": "string"},
    "url": {"type": "string"},
    "outputs": {"type": "object", "description": "state outputs; sensitive ones are \"(sensitive)\""}
  }
}`)
}

func (a *RunAction) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) (err error) {
	c, err := a.p.ready()
	if err != nil {
		return err
	}
	in := req.Input
	org, err := a.p.org(in)
	if err != nil {
		return err
	}
	name, _ := in["workspace"].(string)
	apply, _ := in["apply"].(bool)
	message, _ := in["message"].(string)
	if message == "" {
		message = "Queued by Atrium task " + req.TaskID
	}
	timeout := 30 * time.Minute
	if s, _ := in["timeout"].(string); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %q is not a positive duration such as 10m", s)
		}
		if d > a.p.maxRunTimeout {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %s is over the limit of %s (plugins.terraform.config.maxRunTimeout)", d, a.p.maxRunTimeout)
		}
		timeout = d
	}
	dir, err := a.folder(req, in)
	if err != nil {
		return err
	}
	if req.DryRun {
		// The workspace may not exist yet (a dry run's ensure created
		// nothing), so nothing is read from Terraform.
		rep.Log("info", fmt.Sprintf("dry run: would upload %s and run workspace %s/%s", dir, org, name))
		rep.Output("runId", "")
		rep.Output("status", "dry-run")
		rep.Output("url", c.WorkspaceURL(org, name))
		rep.Output("outputs", map[string]any{})
		return nil
	}
	ws, err := c.Workspace(ctx, org, name)
	if err != nil {
		return fault(err, "input.workspace")
	}
	run, err := a.queueOrResume(ctx, req, rep, c, org, ws, dir, message)
	if err != nil {
		return err
	}
	detached := false
	defer func() {
		if !detached {
			a.p.ops.Step(req).End(ctx, err)
		}
	}()
	url := a.runURL(c, org, name, run.ID)
	rep.Output("runId", run.ID)
	rep.Output("url", url)
	rep.Log("info", fmt.Sprintf("run %s: %s", run.ID, url))
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wantApply := apply || ws.AutoApply
	// A transient failure while following (Terraform down for a moment)
	// retries with backoff, recorded on the operation; the run goes on.
	var r *tfe.Run
	err = a.p.ops.Step(req).Retry(fctx, a.p.retry, func(fctx context.Context) error {
		var ferr error
		r, ferr = c.Follow(fctx, run.ID, a.followOptions(rep, req, run.ID, wantApply, &detached))
		if ferr != nil && fctx.Err() == nil {
			if ok, _ := transient(ferr); ok {
				rep.Log("warn", fmt.Sprintf("following run %s: %v", run.ID, ferr))
			}
		}
		return ferr
	})
	if err != nil {
		if ctx.Err() == nil && fctx.Err() != nil {
			rep.Output("status", string(tfe.RunCanceled))
			return plugin.Errorf(plugin.ErrUnavailable, "Terraform run %s did not finish within %s (input.timeout): %v", run.ID, timeout, err)
		}
		if ctx.Err() != nil {
			return err
		}
		return fault(err, "following run "+run.ID)
	}
	rep.Output("status", string(r.Status))
	final, ok := tfc.Final(r.Status)
	switch {
	case !final:
		rep.Output("outputs", map[string]any{})
		return plugin.Errorf(plugin.ErrConflict, "run %s waits for a confirmation: workspace %s/%s does not auto-apply and input.apply is not true; confirm it at %s", run.ID, org, name, url)
	case !ok:
		rep.Output("outputs", map[string]any{})
		hint := ""
		if r.Status == tfe.RunPolicySoftFailed {
			hint = " (a policy check failed; someone allowed to override policies must do so in Terraform)"
		}
		return plugin.Errorf(plugin.ErrConflict, "run %s ended %s%s; see %s", run.ID, r.Status, hint, url)
	}
	outs, err := c.Outputs(ctx, ws.ID)
	if err != nil {
		return fault(err, "reading the outputs")
	}
	m := map[string]any{}
	for _, o := range outs {
		if o.Sensitive {
			m[o.Name] = "(sensitive)"
			continue
		}
		m[o.Name] = o.Value
	}
	rep.Output("outputs", m)
	rep.Log("info", fmt.Sprintf("run %s %s; %d outputs", run.ID, r.Status, len(outs)))
	return nil
}

// folder resolves input.directory inside the task's workspace.
func (a *RunAction) folder(req plugin.ActionRequest, in map[string]any) (string, error) {
	rel, _ := in["directory"].(string)
	if rel == "" {
		rel = "."
	}
	if filepath.IsAbs(rel) || !filepath.IsLocal(filepath.Clean(rel)) && filepath.Clean(rel) != "." {
		return "", plugin.Errorf(plugin.ErrInvalid, "input.directory: %q must be a relative path inside the task's workspace", rel)
	}
	root, err := os.OpenRoot(req.Workspace)
	if err != nil {
		return "", err
	}
	defer root.Close()
	st, err := root.Stat(filepath.Clean(rel))
	if err != nil || !st.IsDir() {
		return "", plugin.Errorf(plugin.ErrInvalid, "input.directory: %q is not a folder of the task's workspace", rel)
	}
	var size int64
	err = fs.WalkDir(root.FS(), filepath.Clean(rel), func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && d.Type().IsRegular() {
			size += info.Size()
		}
		if size > a.p.cfg.MaxUploadBytes {
			return fs.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if size > a.p.cfg.MaxUploadBytes {
		return "", plugin.Errorf(plugin.ErrInvalid, "input.directory: %q holds over %d bytes (plugins.terraform.config.maxUploadBytes)", rel, a.p.cfg.MaxUploadBytes)
	}
	return filepath.Join(req.Workspace, filepath.Clean(rel)), nil
}

// followOptions report a followed run's states to the task and leave
// the run running when Atrium shuts down (*detached).
func (a *RunAction) followOptions(rep plugin.ActionReporter, req plugin.ActionRequest, runID string, apply bool, detached *bool) tfc.FollowOptions {
	return tfc.FollowOptions{
		Poll: a.p.poll, Apply: apply, Comment: "Applied by Atrium task " + req.TaskID,
		Status: func(r *tfe.Run) {
			rep.Progress(progressOf(r.Status), "run "+string(r.Status))
			line := "run " + runID + " is " + string(r.Status)
			if r.Plan != nil && (r.Status == tfe.RunPlanned || r.Status == tfe.RunPolicyChecked || r.Status == tfe.RunCostEstimated) {
				line += fmt.Sprintf(" (plan: %d to add, %d to change, %d to destroy)", r.Plan.ResourceAdditions, r.Plan.ResourceChanges, r.Plan.ResourceDestructions)
			}
			rep.Log("info", line)
		},
		Detach: func(ctx context.Context) bool {
			*detached = !plugin.Abandoned(ctx)
			return *detached
		},
	}
}

// runURL is where a person sees the run: the workspace's run page, or
// the simulator's JSON:API document in the demo.
func (a *RunAction) runURL(c *tfc.Client, org, workspace, runID string) string {
	if a.p.simulated {
		return strings.TrimSuffix(c.Address(), "/") + "/api/v2/runs/" + runID
	}
	return c.RunURL(org, workspace, runID)
}

// queueOrResume uploads the configuration and queues a run, or finds the
// run this step queued before Atrium restarted.
func (a *RunAction) queueOrResume(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter, c *tfc.Client, org string, ws *tfe.Workspace, dir, message string) (*tfe.Run, error) {
	var op operation
	if _, ok := a.p.ops.Step(req).Resume(ctx, &op); ok && op.RunID != "" && op.Workspace == ws.ID {
		r, err := c.Run(ctx, op.RunID)
		if err == nil {
			rep.Log("info", fmt.Sprintf("resuming run %s (queued before Atrium restarted; it is %s)", r.ID, r.Status))
			return r, nil
		}
		rep.Log("warn", fmt.Sprintf("the run %s queued before the restart cannot be read (%v); queueing again", op.RunID, err))
	}
	rep.Log("info", fmt.Sprintf("uploading %s as a configuration version of %s%s", filepath.Base(dir), ws.Name, a.p.where()))
	cv, err := c.Upload(ctx, ws.ID, dir)
	if err != nil {
		return nil, fault(err, "uploading the configuration")
	}
	run, err := c.CreateRun(ctx, ws.ID, cv.ID, message, ws.AutoApply)
	if err != nil {
		return nil, fault(err, "queueing the run")
	}
	if err := a.p.ops.Step(req).Save(ctx, run.ID, a.runURL(c, org, ws.Name, run.ID), operation{RunID: run.ID, Workspace: ws.ID}); err != nil {
		rep.Log("warn", fmt.Sprintf("run %s cannot be resumed after a restart: saving its resume token: %v", run.ID, err))
	}
	return run, nil
}

func progressOf(s tfe.RunStatus) int {
	switch s {
	case tfe.RunPending, tfe.RunPlanQueued:
		return 10
	case tfe.RunPlanning:
		return 30
	case tfe.RunPlanned, tfe.RunPolicyChecking, tfe.RunPolicyChecked, tfe.RunCostEstimated:
		return 60
	case tfe.RunApplyQueued, tfe.RunApplying:
		return 80
	}
	return 100
}
