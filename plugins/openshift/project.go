package openshift

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/plugin"
)

// ProjectAction is openshift:project:create.
type ProjectAction struct{ p *Plugin }

var _ plugin.Action = (*ProjectAction)(nil)

func (a *ProjectAction) ID() string { return "openshift:project:create" }

func (a *ProjectAction) Description() string {
	return "Creates an OpenShift project (a ProjectRequest; a Namespace on plain Kubernetes) unless it exists."
}

func (a *ProjectAction) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["name"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 63, "description": "the project (namespace) name: lowercase letters, digits and '-'"},
    "displayName": {"type": "string", "description": "the project's display name"},
    "description": {"type": "string", "description": "the project's description"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}, "description": "labels of the namespace (plain Kubernetes only)"},
    "cluster": {"type": "string", "description": "the cluster's name in plugins.openshift.config.clusters (default: the first)"}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "cluster": {"type": "string"},
    "created": {"type": "boolean"}
  }
}`)
}

func (a *ProjectAction) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	in := req.Input
	clusterName, _ := in["cluster"].(string)
	c, err := a.p.cluster(clusterName)
	if err != nil {
		return err
	}
	name, _ := in["name"].(string)
	if err := kube.ValidName(name); err != nil {
		return plugin.Errorf(plugin.ErrInvalid, "input.name: %v", err)
	}
	pr := kube.Project{Name: name, Labels: map[string]string{}}
	pr.DisplayName, _ = in["displayName"].(string)
	pr.Description, _ = in["description"].(string)
	if l, ok := in["labels"].(map[string]any); ok {
		for k, v := range l {
			s, ok := v.(string)
			if !ok {
				return plugin.Errorf(plugin.ErrInvalid, "input.labels.%s: a label value must be a string", k)
			}
			pr.Labels[k] = s
		}
	}
	what := "project"
	if !c.client.OpenShift() {
		what = "namespace"
	}
	rep.Output("name", name)
	rep.Output("cluster", c.cfg.Name)
	if req.DryRun {
		rep.Log("info", fmt.Sprintf("dry run: would create the %s %s on %s", what, name, a.p.where(c)))
		rep.Output("created", false)
		return nil
	}
	created, err := c.client.EnsureProject(ctx, pr)
	if err != nil {
		return fault(c, err, "creating the "+what+" "+name)
	}
	rep.Output("created", created)
	if created {
		rep.Log("info", fmt.Sprintf("created the %s %s on %s", what, name, a.p.where(c)))
	} else {
		rep.Log("info", fmt.Sprintf("the %s %s exists on %s already; nothing to do", what, name, a.p.where(c)))
	}
	return nil
}
