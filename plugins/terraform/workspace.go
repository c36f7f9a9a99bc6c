package terraform

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/atrium-portal/atrium/internal/integrations/tfc"
	"github.com/atrium-portal/atrium/plugin"
)

// EnsureWorkspace is terraform:workspace:ensure.
type EnsureWorkspace struct{ p *Plugin }

var _ plugin.Action = (*EnsureWorkspace)(nil)

func (a *EnsureWorkspace) ID() string { return "terraform:workspace:ensure" }

func (a *EnsureWorkspace) Description() string {
	return "Creates a Terraform workspace, or updates the existing one of that name to the input (project, tags, auto-apply, working directory, execution mode)."
}

func (a *EnsureWorkspace) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["name"],
  "additionalProperties": false,
  "properties": {
    "organization": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "default: plugins.terraform.config.organization"},
    "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,90}$"},
    "project": {"type": "string", "minLength": 1, "description": "project name or id (prj-…)"},
    "description": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9:_-]*$"}, "maxItems": 50},
    "autoApply": {"type": "boolean"},
    "workingDirectory": {"type": "string"},
    "executionMode": {"type": "string", "enum": ["remote", "local", "agent"]},
    "terraformVersion": {"type": "string"}
  }
}`), json.RawMessage(`{"type": "object", "properties": {"workspaceId": {"type": "string"}, "url": {"type": "string"}, "created": {"type": "boolean"}}}`)
}

func (a *EnsureWorkspace) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	c, err := a.p.ready()
	if err != nil {
		return err
	}
	in := req.Input
	org, err := a.p.org(in)
	if err != nil {
		return err
	}
	spec := tfc.WorkspaceSpec{Organization: org}
	spec.Name, _ = in["name"].(string)
	spec.Project, _ = in["project"].(string)
	spec.Description, _ = in["description"].(string)
	spec.ExecutionMode, _ = in["executionMode"].(string)
	spec.TerraformVersion, _ = in["terraformVersion"].(string)
	if v, ok := in["autoApply"].(bool); ok {
		spec.AutoApply = &v
	}
	if v, ok := in["workingDirectory"].(string); ok {
		if strings.HasPrefix(v, "/") || strings.Contains("/"+v+"/", "/../") {
			return plugin.Errorf(plugin.ErrInvalid, "input.workingDirectory: %q must be a relative path inside the repository", v)
		}
		spec.WorkingDirectory = &v
	}
	if ts, ok := in["tags"].([]any); ok {
		for _, t := range ts {
			if s, _ := t.(string); s != "" {
				spec.Tags = append(spec.Tags, s)
			}
		}
	}
	if req.DryRun {
		rep.Log("info", fmt.Sprintf("dry run: would ensure workspace %s/%s", org, spec.Name))
		rep.Output("workspaceId", "")
		rep.Output("url", c.WorkspaceURL(org, spec.Name))
		rep.Output("created", false)
		return nil
	}
	ws, created, err := c.EnsureWorkspace(ctx, spec)
	if err != nil {
		return fault(err, "terraform:workspace:ensure")
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	rep.Log("info", fmt.Sprintf("workspace %s/%s %s (%s)%s; auto-apply %v, execution mode %s, tags %s", org, ws.Name, verb, ws.ID, a.p.where(),
		ws.AutoApply, ws.ExecutionMode, strings.Join(ws.TagNames, ", ")))
	rep.Output("workspaceId", ws.ID)
	rep.Output("url", c.WorkspaceURL(org, ws.Name))
	rep.Output("created", created)
	return nil
}

// where says " on the simulated Terraform" in demo mode.
func (p *Plugin) where() string {
	if p.simulated {
		return " on the simulated Terraform"
	}
	return ""
}

// fault turns a client error into a plugin error of the right kind,
// saying that Terraform answered.
func fault(err error, doing string) error {
	kind := plugin.ErrUnavailable
	switch tfc.Status(err) {
	case 400, 422:
		kind = plugin.ErrInvalid
	case 403:
		kind = plugin.ErrForbidden
	case 404:
		kind = plugin.ErrNotFound
	case 409:
		kind = plugin.ErrConflict
	}
	return plugin.Errorf(kind, "%s: Terraform answered: %v", doing, err)
}
