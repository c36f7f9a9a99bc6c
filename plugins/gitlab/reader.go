package gitlab

import (
	"context"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/plugin"
)

// HandlesURL reports whether target is a URL on a configured GitLab
// instance, which ReadURL reads through the API with that instance's
// token (private projects too). Atrium's url location reader asks this
// first, so these hosts need no backend.reading.allow entry.
func (p *Plugin) HandlesURL(target string) bool {
	_, _, ok := p.instanceForURL(target)
	return ok
}

// ReadURL reads a file URL of a configured instance:
// https://<host>/<group>/<project>/-/blob/<ref>/<path> (or /-/raw/).
func (p *Plugin) ReadURL(ctx context.Context, target string) ([]byte, error) {
	inst, rest, ok := p.instanceForURL(target)
	if !ok {
		return nil, plugin.Errorf(plugin.ErrInvalid, "%s is not on a configured GitLab instance (configured: %s)", target, strings.Join(p.hosts(), ", "))
	}
	project, ref, file, err := splitFileURL(target, rest)
	if err != nil {
		return nil, err
	}
	c := inst.client
	data, _, err := c.API.RepositoryFiles.GetRawFile(project, file, &gl.GetRawFileOptions{Ref: gl.Ptr(ref)}, client.Opt(ctx))
	if err != nil {
		if client.IsNotFound(err) {
			return nil, plugin.Errorf(plugin.ErrNotFound, "%s does not exist (GitLab %s: no file %s at %s in %s, or the token cannot see it)", target, inst.cfg.Host, file, ref, project)
		}
		return nil, c.Err("reading "+target, err)
	}
	return data, nil
}

// splitFileURL splits the path of a GitLab file URL (after the
// instance's base) into project path, ref and file. A ref is one path
// segment, as in Backstage's reader.
func splitFileURL(target, path string) (project, ref, file string, err error) {
	path = strings.Trim(path, "/")
	before, after, ok := strings.Cut(path, "/-/")
	if ok {
		kind, rest, _ := strings.Cut(after, "/")
		if kind == "blob" || kind == "raw" {
			ref, file, ok = strings.Cut(rest, "/")
			if ok && ref != "" && file != "" && before != "" {
				return before, ref, file, nil
			}
		}
	}
	return "", "", "", plugin.Errorf(plugin.ErrInvalid, "%s is not a GitLab file URL (https://<host>/<group>/<project>/-/blob/<branch>/<path>)", target)
}
