package gitlab

import (
	"context"
	"fmt"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/plugin"
)

const groupID = "gitlab:group:ensureExists"

func (p *Plugin) groupAction() plugin.Action {
	return &action{
		id:   groupID,
		desc: "Makes sure a GitLab group and its parent groups exist, creating the missing ones.",
		in: `{"type":"object","required":["repoUrl","path"],"additionalProperties":false,"properties":{
			"repoUrl":{"type":"string","description":"the instance: host (a query such as ?owner=… is ignored)"},
			"path":{"oneOf":[{"type":"string","minLength":1},{"type":"array","minItems":1,"items":{"type":"string","minLength":1}}],
				"description":"the group's full path: \"platform/services\" or [\"platform\", \"services\"]"}}}`,
		out: `{"type":"object","properties":{"groupId":{"type":"integer"},"groupPath":{"type":"string"}}}`,
		run: p.ensureGroup,
	}
}

func (p *Plugin) ensureGroup(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	host, _, _ := strings.Cut(fmt.Sprint(req.Input["repoUrl"]), "?")
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
	inst, err := p.instance(host)
	if err != nil {
		return err
	}
	var parts []string
	switch v := req.Input["path"].(type) {
	case string:
		parts = strings.Split(strings.Trim(v, "/"), "/")
	case []any:
		for _, x := range v {
			parts = append(parts, strings.Split(strings.Trim(fmt.Sprint(x), "/"), "/")...)
		}
	default:
		return errorf(groupID, "path must be a string or a list of strings")
	}
	for i, s := range parts {
		if s == "" {
			return errorf(groupID, "path has an empty segment at position %d", i+1)
		}
	}
	c := inst.client
	opt := client.Opt(ctx)
	var parent int64
	for i := range parts {
		full := strings.Join(parts[:i+1], "/")
		g, _, err := c.API.Groups.GetGroup(full, nil, opt)
		switch {
		case err == nil:
			parent = g.ID
			continue
		case !client.IsNotFound(err):
			return c.Err("looking up group "+full, err)
		}
		if req.DryRun {
			rep.Log("info", "dry run: would create group "+full)
			continue
		}
		opts := &gl.CreateGroupOptions{Name: gl.Ptr(parts[i]), Path: gl.Ptr(parts[i])}
		if parent != 0 {
			opts.ParentID = gl.Ptr(parent)
		}
		g, _, err = c.API.Groups.CreateGroup(opts, opt)
		if err != nil {
			return c.Err("creating group "+full, err)
		}
		rep.Log("info", fmt.Sprintf("created group %s (id %d)", full, g.ID))
		parent = g.ID
	}
	rep.Output("groupId", parent)
	rep.Output("groupPath", strings.Join(parts, "/"))
	return nil
}
