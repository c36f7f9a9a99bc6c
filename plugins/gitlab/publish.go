package gitlab

import (
	"context"
	"fmt"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/plugin"
)

const publishID = "publish:gitlab"

type publishInput struct {
	RepoURL          string   `json:"repoUrl"`
	DefaultBranch    string   `json:"defaultBranch"`
	RepoVisibility   string   `json:"repoVisibility"`
	Topics           []string `json:"topics"`
	Description      string   `json:"description"`
	SourcePath       string   `json:"sourcePath"`
	GitCommitMessage string   `json:"gitCommitMessage"`
	GitAuthorName    string   `json:"gitAuthorName"`
	GitAuthorEmail   string   `json:"gitAuthorEmail"`
}

func (p *Plugin) publishAction() plugin.Action {
	return &action{
		id:   publishID,
		desc: "Creates a GitLab project in a group and pushes the workspace to it as one commit.",
		in: `{"type":"object","required":["repoUrl"],"additionalProperties":false,"properties":{
			"repoUrl":{"type":"string","description":"host?owner=<group/subgroup>&repo=<project>"},
			"defaultBranch":{"type":"string","default":"main"},
			"repoVisibility":{"type":"string","enum":["private","internal","public"],"default":"private"},
			"topics":{"type":"array","items":{"type":"string"}},
			"description":{"type":"string"},
			"sourcePath":{"type":"string","description":"directory of the workspace to publish (default: all of it)"},
			"gitCommitMessage":{"type":"string","default":"initial commit"},
			"gitAuthorName":{"type":"string"},
			"gitAuthorEmail":{"type":"string"}}}`,
		out: `{"type":"object","properties":{"remoteUrl":{"type":"string"},"repoContentsUrl":{"type":"string"},"commitHash":{"type":"string"},"projectId":{"type":"integer"}}}`,
		run: p.publish,
	}
}

// publish creates the project and commits the tree. Run again (a retry,
// or a restart in the middle of the step) it finds the project it made:
// an empty one gets the commit, one whose default branch already holds
// exactly the workspace is reported as published; any other existing
// project is a conflict.
func (p *Plugin) publish(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) error {
	var in publishInput
	if err := decodeInput(publishID, req.Input, &in); err != nil {
		return err
	}
	r, err := parseRepoURL(publishID, in.RepoURL, true)
	if err != nil {
		return err
	}
	inst, err := p.instance(r.Host)
	if err != nil {
		return err
	}
	if in.DefaultBranch == "" {
		in.DefaultBranch = "main"
	}
	if in.RepoVisibility == "" {
		in.RepoVisibility = "private"
	}
	if in.GitCommitMessage == "" {
		in.GitCommitMessage = "initial commit"
	}
	files, err := p.readTree(publishID, req.Workspace, in.SourcePath)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errorf(publishID, "there is nothing to publish: the workspace%s is empty", pathNote(in.SourcePath))
	}
	c := inst.client
	opt := client.Opt(ctx)
	if req.DryRun {
		rep.Log("info", fmt.Sprintf("dry run: would create project %s on %s (%s) and commit %d files to %s", r.Path(), r.Host, in.RepoVisibility, len(files), in.DefaultBranch))
		web := inst.webURL(r.Path())
		rep.Output("remoteUrl", web+".git")
		rep.Output("repoContentsUrl", web+"/-/blob/"+in.DefaultBranch)
		rep.Output("commitHash", "")
		rep.Output("projectId", 0)
		return nil
	}
	rep.Progress(10, "looking up group "+r.Owner)
	grp, _, err := c.API.Groups.GetGroup(r.Owner, nil, opt)
	if err != nil {
		if client.IsNotFound(err) {
			return plugin.Errorf(plugin.ErrNotFound, "%s: group %s does not exist on %s (or the token cannot see it); create it first with gitlab:group:ensureExists", publishID, r.Owner, r.Host)
		}
		return c.Err("looking up group "+r.Owner, err)
	}
	proj, _, err := c.API.Projects.GetProject(r.Path(), nil, opt)
	switch {
	case err == nil:
		rep.Log("info", fmt.Sprintf("project %s already exists (id %d); checking whether it is this task's", r.Path(), proj.ID))
	case client.IsNotFound(err):
		rep.Progress(30, "creating project "+r.Path())
		topics := in.Topics
		proj, _, err = c.API.Projects.CreateProject(&gl.CreateProjectOptions{
			Name: gl.Ptr(r.Repo), Path: gl.Ptr(r.Repo), NamespaceID: gl.Ptr(grp.ID),
			Visibility: gl.Ptr(gl.VisibilityValue(in.RepoVisibility)), DefaultBranch: gl.Ptr(in.DefaultBranch),
			Description: optional(in.Description), Topics: optionalList(topics), InitializeWithReadme: gl.Ptr(false),
		}, opt)
		if err != nil {
			return c.Err("creating project "+r.Path(), err)
		}
		rep.Log("info", fmt.Sprintf("created project %s (id %d, %s)", proj.PathWithNamespace, proj.ID, in.RepoVisibility))
	default:
		return c.Err("looking up project "+r.Path(), err)
	}
	blobs, exists, err := treeBlobs(c, opt, proj.ID, in.DefaultBranch)
	if err != nil {
		return c.Err("reading the tree of "+r.Path(), err)
	}
	var sha string
	switch {
	case !exists || len(blobs) == 0:
		rep.Progress(60, fmt.Sprintf("committing %d files", len(files)))
		actions := make([]*gl.CommitActionOptions, len(files))
		for i := range files {
			actions[i] = commitAction(gl.FileCreate, files[i].Path, &files[i])
		}
		commit, _, err := c.API.Commits.CreateCommit(proj.ID, &gl.CreateCommitOptions{
			Branch: gl.Ptr(in.DefaultBranch), CommitMessage: gl.Ptr(in.GitCommitMessage),
			AuthorName: optional(in.GitAuthorName), AuthorEmail: optional(in.GitAuthorEmail), Actions: actions,
		}, opt)
		if err != nil {
			return c.Err("committing to "+r.Path(), err)
		}
		sha = commit.ID
		rep.Log("info", fmt.Sprintf("committed %d files to %s as %s", len(files), in.DefaultBranch, commit.ShortID))
	case sameTree(blobs, files):
		br, _, err := c.API.Branches.GetBranch(proj.ID, in.DefaultBranch, opt)
		if err != nil {
			return c.Err("reading branch "+in.DefaultBranch, err)
		}
		sha = br.Commit.ID
		rep.Log("info", fmt.Sprintf("%s already holds this workspace (commit %s): nothing to commit", r.Path(), br.Commit.ShortID))
	default:
		return plugin.Errorf(plugin.ErrConflict, "%s: project %s already exists on %s with other content; choose another repo name or delete that project", publishID, r.Path(), r.Host)
	}
	if proj.DefaultBranch != in.DefaultBranch {
		if _, _, err := c.API.Projects.EditProject(proj.ID, &gl.EditProjectOptions{DefaultBranch: gl.Ptr(in.DefaultBranch)}, opt); err != nil {
			return c.Err("setting the default branch of "+r.Path(), err)
		}
	}
	rep.Progress(100, "published")
	rep.Output("remoteUrl", proj.HTTPURLToRepo)
	rep.Output("repoContentsUrl", proj.WebURL+"/-/blob/"+in.DefaultBranch)
	rep.Output("commitHash", sha)
	rep.Output("projectId", proj.ID)
	return nil
}

// sameTree reports whether the repository's blobs are exactly files.
func sameTree(blobs map[string]string, files []file) bool {
	if len(blobs) != len(files) {
		return false
	}
	for _, f := range files {
		if blobs[f.Path] != client.BlobSHA(f.Data) {
			return false
		}
	}
	return true
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return gl.Ptr(s)
}

func optionalList(s []string) *[]string {
	if len(s) == 0 {
		return nil
	}
	return &s
}

func pathNote(sourcePath string) string {
	if sourcePath == "" {
		return ""
	}
	return " directory " + strings.TrimSuffix(sourcePath, "/")
}
