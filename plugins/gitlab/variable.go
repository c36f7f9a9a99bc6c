package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/plugin"
)

const variableID = "gitlab:projectVariable:create"

type variableInput struct {
	RepoURL           string `json:"repoUrl"`
	ProjectID         any    `json:"projectId"`
	Key               string `json:"key"`
	Value             string `json:"value"`
	VariableType      string `json:"variableType"`
	VariableProtected bool   `json:"variableProtected"`
	VariableMasked    bool   `json:"variableMasked"`
	Raw               bool   `json:"raw"`
	EnvironmentScope  string `json:"environmentScope"`
}

func (p *Plugin) variableAction() plugin.Action {
	return &action{
		id:   variableID,
		desc: "Creates (or updates) a CI/CD variable of a GitLab project; its value is never logged.",
		in: `{"type":"object","required":["repoUrl","key","value"],"additionalProperties":false,"properties":{
			"repoUrl":{"type":"string","description":"host?owner=<group>&repo=<project>"},
			"projectId":{"type":["integer","string"],"description":"the project's id or full path (default: the project of repoUrl)"},
			"key":{"type":"string","pattern":"^[A-Za-z0-9_]{1,255}$"},
			"value":{"type":"string"},
			"variableType":{"type":"string","enum":["env_var","file"],"default":"env_var"},
			"variableProtected":{"type":"boolean"},
			"variableMasked":{"type":"boolean"},
			"raw":{"type":"boolean"},
			"environmentScope":{"type":"string","default":"*"}}}`,
		out: `{"type":"object","properties":{"key":{"type":"string"},"environmentScope":{"type":"string"},"created":{"type":"boolean"}}}`,
		run: p.createVariable,
	}
}

// createVariable creates the variable, or updates it when the key already
// exists in that environment scope (a retried step changes nothing).
func (p *Plugin) createVariable(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	var in variableInput
	if err := decodeInput(variableID, req.Input, &in); err != nil {
		return err
	}
	r, err := parseRepoURL(variableID, in.RepoURL, in.ProjectID == nil)
	if err != nil {
		return err
	}
	inst, err := p.instance(r.Host)
	if err != nil {
		return err
	}
	var pid any = r.Path()
	switch v := in.ProjectID.(type) {
	case float64:
		pid = int64(v)
	case string:
		if v != "" {
			pid = v
		}
	}
	if in.EnvironmentScope == "" {
		in.EnvironmentScope = "*"
	}
	if in.VariableType == "" {
		in.VariableType = "env_var"
	}
	if in.VariableMasked && len(in.Value) < 8 {
		return errorf(variableID, "a masked variable's value must be at least 8 characters (%s)", in.Key)
	}
	desc := fmt.Sprintf("variable %s (scope %s, protected %t, masked %t) of project %v", in.Key, in.EnvironmentScope, in.VariableProtected, in.VariableMasked, pid)
	if req.DryRun {
		rep.Log("info", "dry run: would set "+desc)
		rep.Output("key", in.Key)
		rep.Output("environmentScope", in.EnvironmentScope)
		rep.Output("created", false)
		return nil
	}
	c := inst.client
	opt := client.Opt(ctx)
	_, _, err = c.API.ProjectVariables.GetVariable(pid, in.Key, &gl.GetProjectVariableOptions{
		Filter: &gl.VariableFilter{EnvironmentScope: in.EnvironmentScope}}, opt)
	created := false
	switch {
	case client.IsNotFound(err):
		_, _, err = c.API.ProjectVariables.CreateVariable(pid, &gl.CreateProjectVariableOptions{
			Key: gl.Ptr(in.Key), Value: gl.Ptr(in.Value), VariableType: gl.Ptr(gl.VariableTypeValue(in.VariableType)),
			Protected: gl.Ptr(in.VariableProtected), Masked: gl.Ptr(in.VariableMasked), Raw: gl.Ptr(in.Raw),
			EnvironmentScope: gl.Ptr(in.EnvironmentScope)}, opt)
		created = true
	case err == nil:
		_, _, err = c.API.ProjectVariables.UpdateVariable(pid, in.Key, &gl.UpdateProjectVariableOptions{
			Value: gl.Ptr(in.Value), VariableType: gl.Ptr(gl.VariableTypeValue(in.VariableType)),
			Protected: gl.Ptr(in.VariableProtected), Masked: gl.Ptr(in.VariableMasked), Raw: gl.Ptr(in.Raw),
			EnvironmentScope: gl.Ptr(in.EnvironmentScope), Filter: &gl.VariableFilter{EnvironmentScope: in.EnvironmentScope}}, opt)
	}
	if err != nil {
		return c.Err("setting "+desc, err)
	}
	if created {
		rep.Log("info", "created "+desc)
	} else {
		rep.Log("info", "updated "+desc)
	}
	rep.Output("key", in.Key)
	rep.Output("environmentScope", in.EnvironmentScope)
	rep.Output("created", created)
	return nil
}
