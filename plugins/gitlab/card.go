package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/plugin"
)

// The annotations that link an entity to its GitLab project, as in
// Backstage's GitLab plugins.
const (
	// SlugAnnotation is the project's full path ("platform/my-service").
	SlugAnnotation = "gitlab.com/project-slug"
	// ProjectIDAnnotation is the project's numeric id, an alternative.
	ProjectIDAnnotation = "gitlab.com/project-id"
	// InstanceAnnotation is the instance's host when several are configured.
	InstanceAnnotation = "gitlab.com/instance"
)

// Card is the "GitLab" entity card: the project, its recent pipelines as
// status badges, its open merge requests and its README.
type Card struct{ p *Plugin }

var _ plugin.EntityCard = (*Card)(nil)

func (c *Card) ID() string       { return "project" }
func (c *Card) Title() string    { return "GitLab" }
func (c *Card) Selector() string { return "metadata.annotations." + SlugAnnotation }

// Render reads the project, its last 5 pipelines, up to 10 open merge
// requests and README.md in parallel.
func (c *Card) Render(ctx context.Context, raw json.RawMessage) (plugin.View, error) {
	var e struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "the entity is not JSON: %v", err)
	}
	ann := e.Metadata.Annotations
	var pid any = ann[SlugAnnotation]
	if pid == "" && ann[ProjectIDAnnotation] != "" {
		pid = ann[ProjectIDAnnotation]
	}
	if pid == "" {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "the entity has no %s annotation", SlugAnnotation)
	}
	inst, err := c.p.cardInstance(ann[InstanceAnnotation])
	if err != nil {
		return plugin.View{}, err
	}
	api := inst.client.API
	opt := client.Opt(ctx)
	proj, _, err := api.Projects.GetProject(pid, nil, opt)
	if err != nil {
		if client.IsNotFound(err) {
			return plugin.View{}, plugin.Errorf(plugin.ErrNotFound, "GitLab %s has no project %v (annotation %s), or the token cannot see it", inst.cfg.Host, pid, SlugAnnotation)
		}
		return plugin.View{}, inst.client.Err(fmt.Sprintf("reading project %v", pid), err)
	}
	var (
		wg        sync.WaitGroup
		pipelines []*gl.PipelineInfo
		mrs       []*gl.BasicMergeRequest
		readme    []byte
		errs      [3]error
	)
	// The reads run on goroutines of their own, out of reach of the
	// host's guard of Render: a panic in one fails its read.
	read := func(i int, what string, fn func() error) {
		wg.Go(func() { errs[i] = guard.Call(c.p.log, ID, "card project: "+what, fn) })
	}
	read(0, "listing pipelines", func() (err error) {
		pipelines, _, err = api.Pipelines.ListProjectPipelines(proj.ID, &gl.ListProjectPipelinesOptions{ListOptions: gl.ListOptions{PerPage: 5}}, opt)
		return err
	})
	read(1, "listing merge requests", func() (err error) {
		mrs, _, err = api.MergeRequests.ListProjectMergeRequests(proj.ID, &gl.ListProjectMergeRequestsOptions{State: gl.Ptr("opened"), ListOptions: gl.ListOptions{PerPage: 10}}, opt)
		return err
	})
	if proj.DefaultBranch != "" {
		read(2, "reading README.md", func() (err error) {
			readme, _, err = api.RepositoryFiles.GetRawFile(proj.ID, "README.md", &gl.GetRawFileOptions{Ref: gl.Ptr(proj.DefaultBranch)}, opt)
			if client.IsNotFound(err) {
				readme, err = nil, nil
			}
			return err
		})
	}
	wg.Wait()
	for i, what := range []string{"listing pipelines", "listing merge requests", "reading README.md"} {
		if guard.IsPanic(errs[i]) {
			return plugin.View{}, errs[i] // ours, not GitLab's
		}
		if errs[i] != nil {
			return plugin.View{}, inst.client.Err(what+" of "+proj.PathWithNamespace, errs[i])
		}
	}
	kv := []plugin.KeyValue{{Key: "Project", Value: proj.PathWithNamespace, Href: proj.WebURL}}
	if proj.DefaultBranch != "" {
		kv = append(kv, plugin.KeyValue{Key: "Default branch", Value: proj.DefaultBranch})
	}
	kv = append(kv, plugin.KeyValue{Key: "Visibility", Value: string(proj.Visibility)})
	if inst.cfg.Simulated {
		kv = append(kv, plugin.KeyValue{Key: "Instance", Value: inst.cfg.Host + " (simulated)"})
	} else {
		kv = append(kv, plugin.KeyValue{Key: "Instance", Value: inst.cfg.Host})
	}
	view := plugin.View{Blocks: []plugin.Block{{KeyValues: kv}}}
	if len(pipelines) > 0 {
		var badges []plugin.Badge
		for _, pl := range pipelines {
			badges = append(badges, plugin.Badge{Label: fmt.Sprintf("#%d %s: %s", pl.ID, pl.Ref, pl.Status), Status: pipelineStatus(pl.Status), Href: pl.WebURL})
		}
		view.Blocks = append(view.Blocks, plugin.Block{Badges: badges})
	} else {
		view.Blocks = append(view.Blocks, plugin.Block{KeyValues: []plugin.KeyValue{{Key: "Pipelines", Value: "none yet"}}})
	}
	if len(mrs) > 0 {
		t := &plugin.Table{Columns: []string{"Merge request", "Title", "Author", "Branches"}}
		for _, mr := range mrs {
			author := ""
			if mr.Author != nil {
				author = mr.Author.Username
			}
			t.Rows = append(t.Rows, []string{fmt.Sprintf("!%d", mr.IID), mr.Title, author, mr.SourceBranch + " → " + mr.TargetBranch})
		}
		view.Blocks = append(view.Blocks, plugin.Block{Table: t})
	} else {
		view.Blocks = append(view.Blocks, plugin.Block{KeyValues: []plugin.KeyValue{{Key: "Open merge requests", Value: "none"}}})
	}
	if len(readme) > 0 {
		view.Blocks = append(view.Blocks, plugin.Block{Markdown: truncate(string(readme), c.p.cfg.MaxReadmeBytes)})
	}
	return view, nil
}

// cardInstance is the instance named by the entity's annotation, or the
// only configured one.
func (p *Plugin) cardInstance(host string) (*instance, error) {
	if host != "" {
		return p.instance(host)
	}
	if len(p.instances) == 1 {
		for _, in := range p.instances {
			return in, nil
		}
	}
	if len(p.instances) == 0 {
		return nil, plugin.Errorf(plugin.ErrInvalid, "no GitLab instance is configured (plugins.gitlab.config.instances)")
	}
	return nil, plugin.Errorf(plugin.ErrInvalid, "several GitLab instances are configured (%s): add the %s annotation to say which one", strings.Join(p.hosts(), ", "), InstanceAnnotation)
}

// pipelineStatus maps GitLab's pipeline status to a badge colour.
func pipelineStatus(s string) plugin.Status {
	switch s {
	case "success":
		return plugin.StatusOK
	case "failed":
		return plugin.StatusError
	case "canceled", "skipped", "manual":
		return plugin.StatusWarning
	case "created", "waiting_for_resource", "preparing", "pending", "running", "scheduled":
		return plugin.StatusPending
	}
	return plugin.StatusUnknown
}

// truncate cuts s to at most n bytes on a rune boundary, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "\n\n*(README truncated)*"
}
