package terraform

import (
	"context"
	"encoding/json"
	"fmt"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/atrium-portal/atrium/internal/integrations/tfc"
	"github.com/atrium-portal/atrium/plugin"
)

// SetVariables is terraform:variables:set.
type SetVariables struct{ p *Plugin }

var _ plugin.Action = (*SetVariables)(nil)

func (a *SetVariables) ID() string { return "terraform:variables:set" }

func (a *SetVariables) Description() string {
	return "Creates or updates Terraform and environment variables of a workspace; sensitive values are stored write-only and never logged."
}

// maxVariables bounds one step's variables.
const maxVariables = 200

func (a *SetVariables) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["workspace", "variables"],
  "additionalProperties": false,
  "properties": {
    "organization": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
    "workspace": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,90}$"},
    "variables": {
      "type": "array", "minItems": 1, "maxItems": 200,
      "items": {
        "type": "object",
        "required": ["key", "value"],
        "additionalProperties": false,
        "properties": {
          "key": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
          "value": {"type": "string"},
          "category": {"type": "string", "enum": ["terraform", "env"], "default": "terraform"},
          "hcl": {"type": "boolean"},
          "sensitive": {"type": "boolean"},
          "description": {"type": "string"}
        }
      }
    }
  }
}`), json.RawMessage(`{"type": "object", "properties": {"created": {"type": "array", "items": {"type": "string"}}, "updated": {"type": "array", "items": {"type": "string"}}}}`)
}

func (a *SetVariables) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	c, err := a.p.ready()
	if err != nil {
		return err
	}
	org, err := a.p.org(req.Input)
	if err != nil {
		return err
	}
	name, _ := req.Input["workspace"].(string)
	items, _ := req.Input["variables"].([]any)
	if len(items) > maxVariables {
		return plugin.Errorf(plugin.ErrInvalid, "input.variables: %d variables, at most %d in one step", len(items), maxVariables)
	}
	var vars []tfc.Variable
	seen := map[string]int{}
	for i, it := range items {
		m, _ := it.(map[string]any)
		v := tfc.Variable{Category: tfe.CategoryTerraform}
		v.Key, _ = m["key"].(string)
		v.Value, _ = m["value"].(string)
		if cat, _ := m["category"].(string); cat == "env" {
			v.Category = tfe.CategoryEnv
		}
		v.HCL, _ = m["hcl"].(bool)
		v.Sensitive, _ = m["sensitive"].(bool)
		v.Description, _ = m["description"].(string)
		id := string(v.Category) + ":" + v.Key
		if j, dup := seen[id]; dup {
			return plugin.Errorf(plugin.ErrInvalid, "input.variables[%d].key: %s (%s) is also variables[%d]", i, v.Key, v.Category, j)
		}
		seen[id] = i
		vars = append(vars, v)
	}
	if req.DryRun {
		// The workspace may not exist yet: a dry run's
		// terraform:workspace:ensure only said it would create it.
		for _, v := range vars {
			kind := string(v.Category)
			if v.Sensitive {
				kind += ", sensitive"
			}
			rep.Log("info", fmt.Sprintf("dry run: would set %s (%s) on %s/%s", v.Key, kind, org, name))
		}
		return nil
	}
	ws, err := c.Workspace(ctx, org, name)
	if err != nil {
		return fault(err, "input.workspace")
	}
	created, updated := []string{}, []string{}
	for i, v := range vars {
		kind := string(v.Category)
		if v.Sensitive {
			kind += ", sensitive"
		}
		isNew, err := c.SetVariable(ctx, ws.ID, v)
		if err != nil {
			return fault(err, fmt.Sprintf("input.variables[%d] (%s)", i, v.Key))
		}
		verb := "updated"
		if isNew {
			verb = "created"
			created = append(created, v.Key)
		} else {
			updated = append(updated, v.Key)
		}
		// Never the value: it may be a secret even when not marked so.
		rep.Log("info", fmt.Sprintf("%s %s (%s) in %s/%s", verb, v.Key, kind, org, name))
	}
	rep.Output("created", created)
	rep.Output("updated", updated)
	return nil
}
