package gitlab

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/plugin"
)

const mergeRequestID = "publish:gitlab:merge-request"

type mergeRequestInput struct {
	RepoURL          string `json:"repoUrl"`
	Title            string `json:"title"`
	Description      string `json:"description"`
	BranchName       string `json:"branchName"`
	TargetBranchName string `json:"targetBranchName"`
	SourcePath       string `json:"sourcePath"`
	TargetPath       string `json:"targetPath"`
	CommitAction     string `json:"commitAction"`
	RemoveSource     bool   `json:"removeSourceBranch"`
	GitCommitMessage string `json:"gitCommitMessage"`
	GitAuthorName    string `json:"gitAuthorName"`
	GitAuthorEmail   string `json:"gitAuthorEmail"`
}

func (p *Plugin) mergeRequestAction() plugin.Action {
	return &action{
		id:   mergeRequestID,
		desc: "Commits the workspace to a new branch of a GitLab project and opens a merge request.",
		in: `{"type":"object","required":["repoUrl","title","branchName"],"additionalProperties":false,"properties":{
			"repoUrl":{"type":"string","description":"host?owner=<group>&repo=<project>"},
			"title":{"type":"string","minLength":1},
			"description":{"type":"string"},
			"branchName":{"type":"string","minLength":1,"description":"the new branch"},
			"targetBranchName":{"type":"string","description":"default: the project's default branch"},
			"sourcePath":{"type":"string","description":"directory of the workspace to commit (default: all of it)"},
			"targetPath":{"type":"string","description":"directory of the repository the files go to (default: the root)"},
			"commitAction":{"type":"string","enum":["auto","create","update","delete"],"default":"auto",
				"description":"auto: create new files, update changed ones and delete the files of targetPath missing from the workspace"},
			"removeSourceBranch":{"type":"boolean"},
			"gitCommitMessage":{"type":"string"},
			"gitAuthorName":{"type":"string"},
			"gitAuthorEmail":{"type":"string"}}}`,
		out: `{"type":"object","properties":{"mergeRequestUrl":{"type":"string"},"projectid":{"type":"integer"},"targetBranchName":{"type":"string"}}}`,
		run: p.mergeRequest,
	}
}

// mergeRequestToken is the resume token of a merge request's operation.
type mergeRequestToken struct {
	Project      string `json:"project"`
	SourceBranch string `json:"sourceBranch"`
	TargetBranch string `json:"targetBranch"`
	IID          int    `json:"iid,omitempty"`
}

// mergeRequest commits the changes to branchName (from the target
// branch) and opens the merge request, kept as the step's operation (kind
// merge-request). Run again — a retry, or after a restart on any replica —
// it finds the branch and the open merge request by its source branch, so
// it never opens a second one.
func (p *Plugin) mergeRequest(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) (err error) {
	var in mergeRequestInput
	if err := decodeInput(mergeRequestID, req.Input, &in); err != nil {
		return err
	}
	r, err := parseRepoURL(mergeRequestID, in.RepoURL, true)
	if err != nil {
		return err
	}
	inst, err := p.instance(r.Host)
	if err != nil {
		return err
	}
	if in.CommitAction == "" {
		in.CommitAction = "auto"
	}
	if in.GitCommitMessage == "" {
		in.GitCommitMessage = in.Title
	}
	targetDir := strings.Trim(path.Clean("/"+in.TargetPath), "/")
	files, err := p.readTree(mergeRequestID, req.Workspace, in.SourcePath)
	if err != nil {
		return err
	}
	c := inst.client
	opt := client.Opt(ctx)
	proj, _, err := c.API.Projects.GetProject(r.Path(), nil, opt)
	if err != nil {
		if client.IsNotFound(err) {
			return plugin.Errorf(plugin.ErrNotFound, "%s: project %s does not exist on %s (or the token cannot see it)", mergeRequestID, r.Path(), r.Host)
		}
		return c.Err("looking up project "+r.Path(), err)
	}
	target := in.TargetBranchName
	if target == "" {
		target = proj.DefaultBranch
	}
	if target == in.BranchName {
		return errorf(mergeRequestID, "branchName and targetBranchName are both %q; the merge request needs a new branch", target)
	}
	existing, _, err := c.API.MergeRequests.ListProjectMergeRequests(proj.ID, &gl.ListProjectMergeRequestsOptions{
		State: gl.Ptr("opened"), SourceBranch: gl.Ptr(in.BranchName), TargetBranch: gl.Ptr(target)}, opt)
	if err != nil {
		return c.Err("listing merge requests of "+r.Path(), err)
	}
	// The branch, when this step made it before, is what changes are
	// computed against; else the target branch.
	base, branchExists, err := treeBlobs(c, opt, proj.ID, in.BranchName)
	if err != nil {
		return c.Err("reading branch "+in.BranchName, err)
	}
	if !branchExists {
		var ok bool
		if base, ok, err = treeBlobs(c, opt, proj.ID, target); err != nil {
			return c.Err("reading branch "+target, err)
		} else if !ok {
			return plugin.Errorf(plugin.ErrNotFound, "%s: target branch %s does not exist in %s", mergeRequestID, target, r.Path())
		}
	}
	actions := changes(in.CommitAction, targetDir, base, files)
	if req.DryRun {
		rep.Log("info", fmt.Sprintf("dry run: would commit %d changes to %s of %s and open a merge request into %s", len(actions), in.BranchName, r.Path(), target))
		rep.Output("mergeRequestUrl", "")
		rep.Output("projectid", proj.ID)
		rep.Output("targetBranchName", target)
		return nil
	}
	step := plugin.OperationKind{System: func() string { return plugin.SystemName("gitlab", r.Host) }, Kind: "merge-request"}.Step(req)
	token := mergeRequestToken{Project: r.Path(), SourceBranch: in.BranchName, TargetBranch: target}
	var prior mergeRequestToken
	if _, resumed := step.Resume(ctx, &prior); resumed && prior.IID != 0 {
		rep.Log("info", fmt.Sprintf("resuming merge request !%d of %s (opened before)", prior.IID, prior.Project))
	}
	if err := step.Save(ctx, "", "", token); err != nil {
		rep.Log("warn", "the merge request cannot be followed as an operation: "+err.Error())
	}
	defer func() { step.End(ctx, err) }()
	if len(actions) > 0 {
		opts := &gl.CreateCommitOptions{Branch: gl.Ptr(in.BranchName), CommitMessage: gl.Ptr(in.GitCommitMessage),
			AuthorName: optional(in.GitAuthorName), AuthorEmail: optional(in.GitAuthorEmail), Actions: actions}
		if !branchExists {
			opts.StartBranch = gl.Ptr(target)
		}
		commit, _, err := c.API.Commits.CreateCommit(proj.ID, opts, opt)
		if err != nil {
			return c.Err("committing to "+in.BranchName+" of "+r.Path(), err)
		}
		rep.Log("info", fmt.Sprintf("committed %d changes to %s as %s", len(actions), in.BranchName, commit.ShortID))
	} else if !branchExists {
		return errorf(mergeRequestID, "the workspace%s makes no change to %s of %s: nothing to merge", pathNote(in.SourcePath), target, r.Path())
	} else {
		rep.Log("info", "branch "+in.BranchName+" already holds the changes")
	}
	var mrURL string
	if len(existing) > 0 {
		mrURL, token.IID = existing[0].WebURL, int(existing[0].IID)
		rep.Log("info", fmt.Sprintf("merge request !%d is already open: %s", existing[0].IID, mrURL))
	} else {
		mr, _, err := c.API.MergeRequests.CreateMergeRequest(proj.ID, &gl.CreateMergeRequestOptions{
			Title: gl.Ptr(in.Title), Description: optional(in.Description), SourceBranch: gl.Ptr(in.BranchName),
			TargetBranch: gl.Ptr(target), RemoveSourceBranch: gl.Ptr(in.RemoveSource)}, opt)
		if err != nil {
			return c.Err("opening a merge request in "+r.Path(), err)
		}
		mrURL, token.IID = mr.WebURL, int(mr.IID)
		rep.Log("info", fmt.Sprintf("opened merge request !%d: %s", mr.IID, mrURL))
	}
	if err := step.Save(ctx, fmt.Sprintf("!%d", token.IID), mrURL, token); err != nil {
		rep.Log("warn", "the merge request cannot be followed as an operation: "+err.Error())
	}
	rep.Output("mergeRequestUrl", mrURL)
	rep.Output("projectid", proj.ID)
	rep.Output("targetBranchName", target)
	return nil
}

// changes computes the commit actions that make dir of the tree base hold
// files. mode "auto" creates, updates and deletes; "create", "update" and
// "delete" apply that one action to every file of the workspace.
func changes(mode, dir string, base map[string]string, files []file) []*gl.CommitActionOptions {
	var out []*gl.CommitActionOptions
	repoPath := func(p string) string {
		if dir == "" {
			return p
		}
		return dir + "/" + p
	}
	seen := map[string]bool{}
	for i := range files {
		f := &files[i]
		rp := repoPath(f.Path)
		seen[rp] = true
		id, exists := base[rp]
		switch mode {
		case "create":
			out = append(out, commitAction(gl.FileCreate, rp, f))
		case "update":
			out = append(out, commitAction(gl.FileUpdate, rp, f))
		case "delete":
			if exists {
				out = append(out, commitAction(gl.FileDelete, rp, nil))
			}
		default:
			switch {
			case !exists:
				out = append(out, commitAction(gl.FileCreate, rp, f))
			case id != client.BlobSHA(f.Data):
				out = append(out, commitAction(gl.FileUpdate, rp, f))
			}
		}
	}
	if mode == "auto" {
		var gone []string
		for p := range base {
			if !seen[p] && (dir == "" || strings.HasPrefix(p, dir+"/")) {
				gone = append(gone, p)
			}
		}
		sort.Strings(gone)
		for _, p := range gone {
			out = append(out, commitAction(gl.FileDelete, p, nil))
		}
	}
	return out
}
