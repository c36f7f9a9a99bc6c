package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	az "github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/plugin"
)

// CreateDeployment is azure:deployment:create.
type CreateDeployment struct{ p *Plugin }

var _ plugin.Action = (*CreateDeployment)(nil)

func (a *CreateDeployment) ID() string { return "azure:deployment:create" }

func (a *CreateDeployment) Description() string {
	return "Deploys an ARM template (JSON) from the task's workspace to a resource group in Incremental mode, streams the provisioning state into the log, and outputs the deployment's outputs. A restart of Atrium resumes following the same deployment."
}

func (a *CreateDeployment) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["resourceGroup", "template"],
  "additionalProperties": false,
  "properties": {
    "subscription": {"type": "string", "description": "a configured subscription's name (default: the only one)"},
    "resourceGroup": {"type": "string", "pattern": "^[-\\w._()]{0,89}[-\\w_()]$"},
    "name": {"type": "string", "pattern": "^[-\\w._()]{1,64}$", "description": "the deployment's name (default atrium-<task id>)"},
    "template": {"type": "string", "description": "path of the ARM template (JSON) in the task's workspace; Bicep must be compiled to JSON first"},
    "parameters": {"type": "object", "description": "parameter values by name (they override parametersFile)"},
    "parametersFile": {"type": "string", "description": "path of an ARM parameters file in the task's workspace"},
    "tags": {"type": "object", "maxProperties": 50, "additionalProperties": {"type": "string", "maxLength": 256}},
    "whatIf": {"type": "boolean", "description": "log Azure's what-if preview of the changes before deploying (default true; a dry run shows it without deploying)"},
    "timeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$", "description": "how long to follow the deployment (default 30m); it is cancelled after"}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "provisioningState": {"type": "string"},
    "outputs": {"type": "object"},
    "resources": {"type": "array", "items": {"type": "string"}}
  }
}`)
}

func (a *CreateDeployment) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	in := req.Input
	subName, _ := in["subscription"].(string)
	s, err := a.p.subscription(subName, "input.subscription")
	if err != nil {
		return err
	}
	group, _ := in["resourceGroup"].(string)
	name, _ := in["name"].(string)
	if name == "" {
		name = "atrium-" + shortID(req.TaskID)
	}
	timeout := 30 * time.Minute
	if t, _ := in["timeout"].(string); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %q is not a positive duration such as 10m", t)
		}
		if d > a.p.maxDeployTime {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %s is over the limit of %s (plugins.azure.config.maxDeploymentTimeout)", d, a.p.maxDeployTime)
		}
		timeout = d
	}
	tplPath, _ := in["template"].(string)
	template, err := a.readJSON(req.Workspace, tplPath, "input.template")
	if err != nil {
		return err
	}
	if _, ok := template["resources"]; !ok {
		return plugin.Errorf(plugin.ErrInvalid, "input.template: %s is not an ARM template (it has no resources)", tplPath)
	}
	params, err := a.parameters(req.Workspace, in)
	if err != nil {
		return err
	}
	tags := map[string]string{"atrium-task": req.TaskID}
	if m, ok := in["tags"].(map[string]any); ok {
		for k, v := range m {
			str, ok := v.(string)
			if !ok {
				return plugin.Errorf(plugin.ErrInvalid, "input.tags.%s: must be a string", k)
			}
			tags[k] = str
		}
	}
	whatIf := true
	if b, ok := in["whatIf"].(bool); ok {
		whatIf = b
	}
	step := deploymentOperation(req, s.cfg.Name)
	var prior operation
	_, resuming := step.Resume(ctx, &prior)
	resuming = resuming && prior.ResumeToken != ""
	if (whatIf || req.DryRun) && !resuming {
		err := a.preview(ctx, rep, s, group, name, template, params)
		switch {
		case err != nil && req.DryRun && plugin.KindOf(err) == plugin.ErrNotFound:
			// A dry run's azure:resourceGroup:ensure created nothing.
			rep.Log("info", fmt.Sprintf("what-if skipped: resource group %s does not exist yet (an earlier step would create it)", group))
		case err != nil:
			return err
		}
	}
	if req.DryRun {
		rep.Log("info", fmt.Sprintf("dry run: would deploy %s (%d parameters) as %s to resource group %s%s", tplPath, len(params), name, group, where(s)))
		rep.Output("name", name)
		rep.Output("provisioningState", "dry-run")
		rep.Output("outputs", map[string]any{})
		rep.Output("resources", []any{})
		return nil
	}
	d, err := a.startOrResume(ctx, step, rep, s, group, name, template, params, tags)
	if err != nil {
		return err
	}
	rep.Output("name", name)
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := d.Follow(fctx, az.FollowOptions{Poll: a.p.poll, State: func(st az.DeploymentState) {
		rep.Progress(progressOf(st.ProvisioningState), "deployment "+st.ProvisioningState)
		rep.Log("info", fmt.Sprintf("deployment %s is %s", name, st.ProvisioningState))
	}})
	if err != nil {
		switch {
		case ctx.Err() != nil && stepAbandoned(ctx):
			// The task was cancelled or the step timed out: cancel the
			// deployment too.
			a.cancel(s, group, name, rep)
			step.End(ctx, err)
			return err
		case ctx.Err() != nil:
			// Atrium is shutting down: keep the resume token; the next
			// start follows the same deployment.
			return err
		case fctx.Err() != nil:
			a.cancel(s, group, name, rep)
			rep.Output("provisioningState", "Canceled")
			err = plugin.Errorf(plugin.ErrUnavailable, "deployment %s did not finish within %s (input.timeout); it was cancelled", name, timeout)
			step.End(ctx, err)
			return err
		}
		step.End(ctx, err)
		if st.ProvisioningState != "" {
			rep.Output("provisioningState", st.ProvisioningState)
		}
		return err
	}
	step.End(ctx, nil)
	rep.Output("provisioningState", st.ProvisioningState)
	rep.Output("outputs", st.Outputs)
	res := make([]any, 0, len(st.Resources))
	for _, r := range st.Resources {
		res = append(res, r)
	}
	rep.Output("resources", res)
	keys := make([]string, 0, len(st.Outputs))
	for k := range st.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	rep.Log("info", fmt.Sprintf("deployment %s %s: %d resources, outputs %s", name, st.ProvisioningState, len(st.Resources), strings.Join(keys, ", ")))
	return nil
}

// preview logs Azure's what-if of the deployment: a summary, then each
// resource that would change.
func (a *CreateDeployment) preview(ctx context.Context, rep plugin.ActionReporter, s *subscription, group, name string, template, params map[string]any) error {
	changes, err := s.client.WhatIf(ctx, group, name, template, params, a.p.poll)
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, ch := range changes {
		count[ch.Type]++
	}
	rep.Log("info", fmt.Sprintf("what-if: %d to create, %d to modify, %d to delete, %d unchanged", count["Create"], count["Modify"], count["Delete"], count["NoChange"]))
	for _, ch := range changes {
		if ch.Type == "NoChange" || ch.Type == "Ignore" {
			continue
		}
		id := ch.ResourceID
		if i := strings.Index(id, "/providers/"); i >= 0 {
			id = id[i+len("/providers/"):]
		}
		rep.Log("info", fmt.Sprintf("what-if: %s %s", ch.Type, id))
	}
	return nil
}

// stepAbandoned reports whether ctx ended because the task was cancelled
// or the step timed out, rather than because Atrium is shutting down, after
// which the step runs again and resumes the deployment.
func stepAbandoned(ctx context.Context) bool { return plugin.Abandoned(ctx) }

// cancel asks Azure to cancel a deployment that is no longer wanted.
func (a *CreateDeployment) cancel(s *subscription, group, name string, rep plugin.ActionReporter) {
	ctx, cancel := context.WithTimeout(context.Background(), a.p.timeout)
	defer cancel()
	if err := s.client.CancelDeployment(ctx, group, name); err != nil {
		rep.Log("warn", fmt.Sprintf("cancelling deployment %s: %v", name, err))
		return
	}
	rep.Log("info", fmt.Sprintf("deployment %s cancelled", name))
}

// startOrResume starts the deployment, or follows the one this step
// started before Atrium restarted.
func (a *CreateDeployment) startOrResume(ctx context.Context, step plugin.StepOperation, rep plugin.ActionReporter, s *subscription, group, name string, template, params map[string]any, tags map[string]string) (*az.Deployment, error) {
	var op operation
	if _, ok := step.Resume(ctx, &op); ok && op.ResumeToken != "" && op.Subscription == s.cfg.Name && op.Group == group && op.Name == name {
		d, err := s.client.ResumeDeployment(ctx, group, name, op.ResumeToken)
		if err == nil {
			rep.Log("info", fmt.Sprintf("resuming deployment %s in resource group %s (started before Atrium restarted)", name, group))
			return d, nil
		}
		rep.Log("warn", fmt.Sprintf("the deployment %s started before the restart cannot be resumed (%v); starting it again", name, err))
	}
	rep.Log("info", fmt.Sprintf("deploying %d resources to resource group %s as %s%s", countResources(template), group, name, where(s)))
	d, err := s.client.StartDeployment(ctx, group, name, template, params, tags)
	if err != nil {
		return nil, err
	}
	token, err := d.ResumeToken()
	if err == nil {
		err = step.Save(ctx, name, "", operation{Subscription: s.cfg.Name, Group: group, Name: name, ResumeToken: token})
	}
	if err != nil {
		rep.Log("warn", fmt.Sprintf("deployment %s cannot be resumed after a restart: saving its resume token: %v", name, err))
	}
	return d, nil
}

// parameters merges input.parametersFile and input.parameters.
func (a *CreateDeployment) parameters(workspace string, in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if pf, _ := in["parametersFile"].(string); pf != "" {
		doc, err := a.readJSON(workspace, pf, "input.parametersFile")
		if err != nil {
			return nil, err
		}
		ps, ok := doc["parameters"].(map[string]any)
		if !ok {
			return nil, plugin.Errorf(plugin.ErrInvalid, "input.parametersFile: %s has no parameters object", pf)
		}
		for k, v := range ps {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, plugin.Errorf(plugin.ErrInvalid, "input.parametersFile: parameters.%s must be an object with a value", k)
			}
			if _, ok := m["reference"]; ok {
				return nil, plugin.Errorf(plugin.ErrInvalid, "input.parametersFile: parameters.%s is a Key Vault reference; give the value through the task's secrets instead", k)
			}
			out[k] = m["value"]
		}
	}
	if m, ok := in["parameters"].(map[string]any); ok {
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// readJSON reads a JSON object from a file of the task's workspace.
func (a *CreateDeployment) readJSON(workspace, rel, field string) (map[string]any, error) {
	if rel == "" {
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s: required", field)
	}
	clean := filepath.Clean(rel)
	if filepath.IsAbs(rel) || !filepath.IsLocal(clean) {
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s: %q must be a relative path inside the task's workspace", field, rel)
	}
	if strings.EqualFold(filepath.Ext(clean), ".bicep") {
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s: %q is Bicep; Atrium deploys ARM JSON only, as the Bicep compiler is not available here: run `bicep build %s` in CI and name the .json it writes", field, rel, rel)
	}
	root, err := openRoot(workspace)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(clean)
	if err != nil {
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s: %q is not a file of the task's workspace", field, rel)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, a.p.cfg.MaxTemplateBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > a.p.cfg.MaxTemplateBytes {
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s: %q is over %d bytes (plugins.azure.config.maxTemplateBytes)", field, rel, a.p.cfg.MaxTemplateBytes)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s: %q is not a JSON object: %v", field, rel, err)
	}
	return doc, nil
}

func countResources(template map[string]any) int {
	rs, _ := template["resources"].([]any)
	return len(rs)
}

func shortID(id string) string {
	id = strings.ReplaceAll(id, "-", "")
	if len(id) > 12 {
		id = id[:12]
	}
	if id == "" {
		id = "deployment"
	}
	return id
}

func progressOf(state string) int {
	switch state {
	case "Accepted":
		return 10
	case "Running":
		return 50
	}
	return 100
}
