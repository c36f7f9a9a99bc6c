package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/plugin"
)

// action is a plugin.Action made of its parts.
type action struct {
	id, desc string
	in, out  string
	run      func(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error
}

var _ plugin.Action = (*action)(nil)

func (a *action) ID() string          { return a.id }
func (a *action) Description() string { return a.desc }
func (a *action) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(a.in), json.RawMessage(a.out)
}
func (a *action) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	return a.run(ctx, req, rep)
}

// decodeInput turns the step's input into v.
func decodeInput(id string, in map[string]any, v any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return plugin.Errorf(plugin.ErrInvalid, "%s: input: %v", id, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return plugin.Errorf(plugin.ErrInvalid, "%s: input: %v", id, err)
	}
	return nil
}

// repoURL is Backstage's repoUrl: "gitlab.example.com?owner=group/sub&repo=name".
type repoURL struct {
	Host, Owner, Repo string
}

// Path is the project's full path.
func (r repoURL) Path() string { return r.Owner + "/" + r.Repo }

// parseRepoURL parses repoUrl; needRepo says whether repo is required.
func parseRepoURL(id, s string, needRepo bool) (repoURL, error) {
	host, query, _ := strings.Cut(s, "?")
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/")
	q, err := url.ParseQuery(query)
	if err != nil || host == "" {
		return repoURL{}, plugin.Errorf(plugin.ErrInvalid, "%s: repoUrl %q is not host?owner=<group>&repo=<name>", id, s)
	}
	r := repoURL{Host: host, Owner: strings.Trim(q.Get("owner"), "/"), Repo: q.Get("repo")}
	if r.Owner == "" {
		return r, plugin.Errorf(plugin.ErrInvalid, "%s: repoUrl %q has no owner (the group path, e.g. owner=platform/services)", id, s)
	}
	if needRepo && r.Repo == "" {
		return r, plugin.Errorf(plugin.ErrInvalid, "%s: repoUrl %q has no repo (the project's path, e.g. repo=my-service)", id, s)
	}
	if strings.Contains(r.Repo, "/") {
		return r, plugin.Errorf(plugin.ErrInvalid, "%s: repoUrl %q: repo %q must not contain a slash; put groups in owner", id, s, r.Repo)
	}
	return r, nil
}

// errorf is an invalid-input error of action id.
func errorf(id, format string, args ...any) error {
	return plugin.Errorf(plugin.ErrInvalid, "%s: %s", id, fmt.Sprintf(format, args...))
}
