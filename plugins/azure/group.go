package azure

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/atrium-portal/atrium/plugin"
)

// EnsureGroup is azure:resourceGroup:ensure.
type EnsureGroup struct{ p *Plugin }

var _ plugin.Action = (*EnsureGroup)(nil)

func (a *EnsureGroup) ID() string { return "azure:resourceGroup:ensure" }

func (a *EnsureGroup) Description() string {
	return "Creates an Azure resource group, or adds missing tags to an existing one in the same location; running it again changes nothing."
}

func (a *EnsureGroup) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["name", "location"],
  "additionalProperties": false,
  "properties": {
    "subscription": {"type": "string", "description": "a configured subscription's name (default: the only one)"},
    "name": {"type": "string", "pattern": "^[-\\w._()]{0,89}[-\\w_()]$", "description": "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'"},
    "location": {"type": "string", "pattern": "^[A-Za-z0-9 ]{2,40}$", "description": "an Azure region such as westeurope"},
    "tags": {"type": "object", "maxProperties": 50, "additionalProperties": {"type": "string", "maxLength": 256}}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "location": {"type": "string"},
    "result": {"type": "string", "enum": ["created", "updated", "unchanged"]}
  }
}`)
}

func (a *EnsureGroup) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	in := req.Input
	subName, _ := in["subscription"].(string)
	s, err := a.p.subscription(subName, "input.subscription")
	if err != nil {
		return err
	}
	name, _ := in["name"].(string)
	location, _ := in["location"].(string)
	tags := map[string]string{}
	if m, ok := in["tags"].(map[string]any); ok {
		for k, v := range m {
			str, ok := v.(string)
			if !ok {
				return plugin.Errorf(plugin.ErrInvalid, "input.tags.%s: must be a string", k)
			}
			tags[k] = str
		}
	}
	if req.DryRun {
		rep.Log("info", fmt.Sprintf("dry run: would ensure resource group %s in %s%s", name, location, where(s)))
		rep.Output("id", "/subscriptions/"+s.cfg.SubscriptionID+"/resourceGroups/"+name)
		rep.Output("name", name)
		rep.Output("location", location)
		rep.Output("result", "dry-run")
		return nil
	}
	g, res, err := s.client.EnsureGroup(ctx, name, location, tags)
	if err != nil {
		return err
	}
	rep.Log("info", fmt.Sprintf("resource group %s %s in %s%s", g.Name, res, g.Location, where(s)))
	rep.Output("id", g.ID)
	rep.Output("name", g.Name)
	rep.Output("location", g.Location)
	rep.Output("result", string(res))
	return nil
}

// where names a subscription in log lines, saying when it is simulated.
func where(s *subscription) string {
	if s.sim != nil {
		return fmt.Sprintf(" (subscription %s, simulated)", s.cfg.Name)
	}
	return fmt.Sprintf(" (subscription %s)", s.cfg.Name)
}
