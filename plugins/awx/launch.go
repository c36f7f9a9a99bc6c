package awx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/awx"
	"github.com/atrium-portal/atrium/plugin"
)

// LaunchAction is awx:job:launch.
type LaunchAction struct{ p *Plugin }

var _ plugin.Action = (*LaunchAction)(nil)

func (a *LaunchAction) ID() string { return "awx:job:launch" }

func (a *LaunchAction) Description() string {
	return "Launches an AWX / Automation Controller job template (or workflow job template) and follows it to its end, streaming its output into the task log."
}

func (a *LaunchAction) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["jobTemplate"],
  "additionalProperties": false,
  "properties": {
    "jobTemplate": {"type": ["string", "integer"], "minLength": 1, "minimum": 1, "description": "the template's name or id"},
    "workflow": {"type": "boolean", "description": "jobTemplate names a workflow job template"},
    "extraVars": {"type": "object", "description": "extra_vars; the template must prompt for variables on launch"},
    "inventory": {"type": ["string", "integer"], "minLength": 1, "minimum": 1, "description": "inventory name or id; the template must prompt for it"},
    "limit": {"type": "string", "description": "host pattern; the template must prompt for it"},
    "timeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$", "description": "how long to wait for the job (default 30m); the job is cancelled after"}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "jobId": {"type": "integer"},
    "status": {"type": "string"},
    "url": {"type": "string"}
  }
}`)
}

// idOrName renders a string-or-integer input.
func idOrName(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	case string:
		return strings.TrimSpace(x)
	}
	return ""
}

func (a *LaunchAction) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) (err error) {
	c, err := a.p.ready()
	if err != nil {
		return err
	}
	in := req.Input
	name := idOrName(in["jobTemplate"])
	if name == "" {
		return plugin.Errorf(plugin.ErrInvalid, "input.jobTemplate: required, a template name or id")
	}
	workflow, _ := in["workflow"].(bool)
	timeout := 30 * time.Minute
	if s, _ := in["timeout"].(string); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %q is not a positive duration such as 10m", s)
		}
		if d > a.p.maxJobTimeout {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %s is over the limit of %s (plugins.awx.config.maxJobTimeout)", d, a.p.maxJobTimeout)
		}
		timeout = d
	}
	kind := "job template"
	if workflow {
		kind = "workflow job template"
	}
	t, err := c.Template(ctx, name, workflow)
	if err != nil {
		return fault(err, "finding the "+kind+" "+strconv.Quote(name))
	}
	opts := awx.LaunchOptions{}
	if v, ok := in["extraVars"].(map[string]any); ok {
		opts.ExtraVars = v
	}
	opts.Limit, _ = in["limit"].(string)
	if inv := idOrName(in["inventory"]); inv != "" {
		if opts.Inventory, err = c.Inventory(ctx, inv); err != nil {
			return fault(err, "input.inventory: finding inventory "+strconv.Quote(inv))
		}
	}
	where := ""
	if a.p.simulated {
		where = " (simulated AWX)"
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range opts.ExtraVars {
			if !yield(k) {
				return
			}
		}
	})
	rep.Log("info", fmt.Sprintf("%s %q (id %d) on %s%s; extra vars: %s; inventory: %s; limit: %s", strings.ToUpper(kind[:1])+kind[1:], t.Name, t.ID,
		a.p.webBase, where, orNone(strings.Join(keys, ", ")), orNone(idOrName(in["inventory"])), orNone(opts.Limit)))
	if req.DryRun {
		rep.Log("info", "dry run: the template was found; nothing is launched")
		rep.Output("jobId", 0)
		rep.Output("status", "dry-run")
		rep.Output("url", a.p.templateURL(t))
		return nil
	}
	j, startLine, err := a.launchOrResume(ctx, req, rep, c, t, opts)
	if err != nil {
		return err
	}
	detached := false
	defer func() {
		if !detached {
			a.p.ops.Step(req).End(ctx, err)
		}
	}()
	url := a.p.jobURL(j)
	rep.Output("jobId", j.ID)
	rep.Output("url", url)
	rep.Log("info", fmt.Sprintf("launched job %d: %s", j.ID, url))
	rep.Progress(10, "job "+strconv.Itoa(j.ID)+" launched")
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// A transient failure while following (AWX down for a moment)
	// retries with backoff from the last line read, recorded on the
	// operation; the job itself goes on in AWX.
	var done awx.Job
	next := startLine
	err = a.p.ops.Step(req).Retry(fctx, a.p.retry, func(fctx context.Context) error {
		var ferr error
		done, ferr = c.Follow(fctx, j, awx.FollowOptions{
			Poll:      a.p.poll,
			StartLine: next,
			Detach: func(ctx context.Context) bool {
				detached = shuttingDown(ctx)
				return detached
			},
			Checkpoint: func(n int) {
				next = n
				_ = a.p.ops.Step(req).Save(ctx, strconv.Itoa(j.ID), url, operation{JobID: j.ID, Type: j.Type, NextLine: n})
			},
			Line: func(l string) {
				if strings.TrimSpace(l) != "" {
					rep.Log("info", l)
				}
			},
			Status: func(s string) {
				rep.Progress(progressOf(s), "job "+strconv.Itoa(j.ID)+" is "+s)
			},
		})
		if ferr != nil && fctx.Err() == nil {
			if ok, _ := plugin.Transient(ferr); ok {
				rep.Log("warn", fmt.Sprintf("following job %d: %v", j.ID, ferr))
			}
		}
		return ferr
	})
	if err != nil {
		if ctx.Err() == nil && fctx.Err() != nil {
			rep.Output("status", "canceled")
			return plugin.Errorf(plugin.ErrUnavailable, "AWX job %d did not finish within %s (input.timeout): %v", j.ID, timeout, err)
		}
		return fault(err, fmt.Sprintf("following job %d", j.ID))
	}
	rep.Output("status", done.Status)
	if done.Status != "successful" {
		msg := fmt.Sprintf("AWX job %d (%s) ended %s", j.ID, t.Name, done.Status)
		if done.JobExplanation != "" {
			msg += ": " + done.JobExplanation
		}
		return plugin.Errorf(plugin.ErrConflict, "%s; see %s", msg, url)
	}
	rep.Log("info", fmt.Sprintf("job %d successful in %.1fs", j.ID, done.Elapsed))
	return nil
}

// launchOrResume launches the job, or finds the one this step launched
// before Atrium restarted. The operation is saved before the job is
// followed, so a restart at any later point resumes it.
func (a *LaunchAction) launchOrResume(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter, c *awx.Client, t awx.Template, opts awx.LaunchOptions) (awx.Job, int, error) {
	var op operation
	if _, ok := a.p.ops.Step(req).Resume(ctx, &op); ok && op.JobID != 0 {
		j, err := c.Job(ctx, op.job())
		if err == nil {
			rep.Log("info", fmt.Sprintf("resuming job %d (launched before Atrium restarted; it is %s)", j.ID, j.Status))
			return j, op.NextLine, nil
		}
		rep.Log("warn", fmt.Sprintf("the job %d launched before the restart cannot be read (%v); launching again", op.JobID, err))
	}
	j, err := c.Launch(ctx, t, opts)
	if err != nil {
		var ie *awx.IgnoredFieldsError
		if errors.As(err, &ie) {
			return j, 0, plugin.Errorf(plugin.ErrInvalid, "input: %v; the job AWX started anyway (%d) was cancelled", err, ie.JobID)
		}
		return j, 0, fault(err, "launching "+strconv.Quote(t.Name))
	}
	if err := a.p.ops.Step(req).Save(ctx, strconv.Itoa(j.ID), a.p.jobURL(j), operation{JobID: j.ID, Type: j.Type}); err != nil {
		rep.Log("warn", fmt.Sprintf("job %d cannot be resumed after a restart: saving its resume token: %v", j.ID, err))
	}
	return j, 0, nil
}

// shuttingDown reports whether ctx ended because Atrium is stopping
// rather than because the task was cancelled or the step timed out.
func shuttingDown(ctx context.Context) bool { return !plugin.Abandoned(ctx) }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func progressOf(status string) int {
	switch status {
	case "pending", "waiting", "new":
		return 20
	case "running":
		return 50
	}
	return 100
}

// fault turns a client error into a plugin error of the right kind,
// saying that AWX is the system that answered.
func fault(err error, doing string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	kind := plugin.ErrUnavailable
	switch awx.StatusOf(err) {
	case 400, 422:
		kind = plugin.ErrInvalid
	case 401:
		kind = plugin.ErrUnavailable // Atrium's credentials, not the user's.
	case 403:
		kind = plugin.ErrForbidden
	case 404:
		kind = plugin.ErrNotFound
	case 409:
		kind = plugin.ErrConflict
	}
	return plugin.Errorf(kind, "%s: %v", doing, err)
}
