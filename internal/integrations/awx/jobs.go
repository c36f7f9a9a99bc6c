package awx

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Template is a job template or a workflow job template.
type Template struct {
	ID          int    `json:"id"`
	Type        string `json:"type"` // job_template or workflow_job_template
	Name        string `json:"name"`
	Description string `json:"description"`
	Playbook    string `json:"playbook,omitempty"`
	Inventory   int    `json:"inventory,omitempty"`

	AskVariablesOnLaunch bool `json:"ask_variables_on_launch"`
	AskInventoryOnLaunch bool `json:"ask_inventory_on_launch"`
	AskLimitOnLaunch     bool `json:"ask_limit_on_launch"`
	SurveyEnabled        bool `json:"survey_enabled"`

	Modified time.Time `json:"modified"`

	SummaryFields struct {
		Labels struct {
			Results []struct {
				Name string `json:"name"`
			} `json:"results"`
		} `json:"labels"`
		Organization struct {
			Name string `json:"name"`
		} `json:"organization"`
	} `json:"summary_fields"`
}

// Workflow reports whether t is a workflow job template.
func (t Template) Workflow() bool { return t.Type == "workflow_job_template" }

// Labels are the names of t's labels.
func (t Template) Labels() []string {
	var out []string
	for _, l := range t.SummaryFields.Labels.Results {
		out = append(out, l.Name)
	}
	return out
}

// Job is a job or a workflow job.
type Job struct {
	ID             int        `json:"id"`
	Type           string     `json:"type"` // job or workflow_job
	Name           string     `json:"name"`
	Status         string     `json:"status"`
	Failed         bool       `json:"failed"`
	Started        *time.Time `json:"started"`
	Finished       *time.Time `json:"finished"`
	Elapsed        float64    `json:"elapsed"`
	JobExplanation string     `json:"job_explanation"`
	LaunchedBy     struct {
		Name string `json:"name"`
	} `json:"launched_by"`
	// Template is the job template (jobs) or workflow job template
	// (workflow jobs) the job was launched from.
	JobTemplate         int       `json:"job_template,omitempty"`
	WorkflowJobTemplate int       `json:"workflow_job_template,omitempty"`
	Created             time.Time `json:"created"`
}

// Workflow reports whether j is a workflow job.
func (j Job) Workflow() bool { return j.Type == "workflow_job" }

// Final reports whether status is a final status.
func Final(status string) bool {
	switch status {
	case "successful", "failed", "error", "canceled":
		return true
	}
	return false
}

// Ping is GET /ping/.
type Ping struct {
	Version string `json:"version"`
}

// Ping checks that the controller answers.
func (c *Client) Ping(ctx context.Context) (Ping, error) {
	var p Ping
	_, err := c.do(ctx, http.MethodGet, "/ping/", nil, nil, &p)
	return p, err
}

func templatesPath(workflow bool) string {
	if workflow {
		return "/workflow_job_templates/"
	}
	return "/job_templates/"
}

// Templates lists the job templates (or workflow job templates), all pages.
func (c *Client) Templates(ctx context.Context, workflow bool) ([]Template, error) {
	return list[Template](ctx, c, templatesPath(workflow), url.Values{"order_by": {"name"}}, 0)
}

// Template finds a template by id (digits) or by exact name.
func (c *Client) Template(ctx context.Context, nameOrID string, workflow bool) (Template, error) {
	kind := "job template"
	if workflow {
		kind = "workflow job template"
	}
	if id, err := strconv.Atoi(nameOrID); err == nil {
		var t Template
		_, err := c.do(ctx, http.MethodGet, fmt.Sprintf("%s%d/", templatesPath(workflow), id), nil, nil, &t)
		if StatusOf(err) == http.StatusNotFound {
			return t, fmt.Errorf("AWX has no %s with id %d (or the token cannot see it): %w", kind, id, err)
		}
		return t, err
	}
	ts, err := list[Template](ctx, c, templatesPath(workflow), url.Values{"name": {nameOrID}}, 0)
	if err != nil {
		return Template{}, err
	}
	for _, t := range ts {
		if t.Name == nameOrID {
			return t, nil
		}
	}
	return Template{}, &Error{Method: http.MethodGet, Path: c.cfg.APIPrefix + templatesPath(workflow), Status: http.StatusNotFound,
		Detail: fmt.Sprintf("no %s is named %q (or the token cannot see it)", kind, nameOrID)}
}

// Inventory resolves an inventory by id (digits) or exact name.
func (c *Client) Inventory(ctx context.Context, nameOrID string) (int, error) {
	if id, err := strconv.Atoi(nameOrID); err == nil {
		return id, nil
	}
	type inv struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	is, err := list[inv](ctx, c, "/inventories/", url.Values{"name": {nameOrID}}, 0)
	if err != nil {
		return 0, err
	}
	for _, i := range is {
		if i.Name == nameOrID {
			return i.ID, nil
		}
	}
	return 0, &Error{Method: http.MethodGet, Path: c.cfg.APIPrefix + "/inventories/", Status: http.StatusNotFound,
		Detail: fmt.Sprintf("no inventory is named %q (or the token cannot see it)", nameOrID)}
}

// LaunchOptions are what a launch may set; each is honoured only when the
// template prompts for it on launch.
type LaunchOptions struct {
	ExtraVars map[string]any
	// Inventory is an inventory id (0: the template's).
	Inventory int
	Limit     string
}

// IgnoredFieldsError is a launch whose template did not prompt for some of
// the fields sent: AWX launched nothing we can trust to be what was asked.
type IgnoredFieldsError struct {
	Template string
	Fields   []string
	// JobID is the job AWX started anyway (cancelled by Launch).
	JobID int
}

func (e *IgnoredFieldsError) Error() string {
	return fmt.Sprintf("AWX ignored %s: template %q does not prompt for %s on launch (enable \"Prompt on launch\" for it, or remove it from the input)",
		strings.Join(e.Fields, ", "), e.Template, strings.Join(e.Fields, ", "))
}

// Launch launches template t. When AWX answers that it ignored fields
// (the template does not prompt for them), the job it started is
// cancelled and an *IgnoredFieldsError names them.
func (c *Client) Launch(ctx context.Context, t Template, opts LaunchOptions) (Job, error) {
	body := map[string]any{}
	if len(opts.ExtraVars) > 0 {
		body["extra_vars"] = opts.ExtraVars
	}
	if opts.Inventory > 0 {
		body["inventory"] = opts.Inventory
	}
	if opts.Limit != "" {
		body["limit"] = opts.Limit
	}
	var res struct {
		Job           int            `json:"job"`
		WorkflowJob   int            `json:"workflow_job"`
		ID            int            `json:"id"`
		Type          string         `json:"type"`
		Status        string         `json:"status"`
		IgnoredFields map[string]any `json:"ignored_fields"`
	}
	if _, err := c.do(ctx, http.MethodPost, fmt.Sprintf("%s%d/launch/", templatesPath(t.Workflow()), t.ID), nil, body, &res); err != nil {
		return Job{}, err
	}
	j := Job{ID: res.ID, Type: res.Type, Status: res.Status, Name: t.Name}
	if j.ID == 0 {
		j.ID = max(res.Job, res.WorkflowJob)
	}
	if j.Type == "" {
		j.Type = "job"
		if t.Workflow() {
			j.Type = "workflow_job"
		}
	}
	if len(res.IgnoredFields) > 0 {
		var fields []string
		for k := range res.IgnoredFields {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		defer cancel()
		_ = c.Cancel(cctx, j)
		return j, &IgnoredFieldsError{Template: t.Name, Fields: fields, JobID: j.ID}
	}
	return j, nil
}

func jobPath(j Job) string {
	if j.Workflow() {
		return fmt.Sprintf("/workflow_jobs/%d/", j.ID)
	}
	return fmt.Sprintf("/jobs/%d/", j.ID)
}

// Job reads a job (or workflow job, by j.Type) by j.ID.
func (c *Client) Job(ctx context.Context, j Job) (Job, error) {
	var out Job
	_, err := c.do(ctx, http.MethodGet, jobPath(j), nil, nil, &out)
	if err == nil && out.Type == "" {
		out.Type = j.Type
	}
	return out, err
}

// Cancel asks AWX to cancel a job; a job already finished is left alone.
func (c *Client) Cancel(ctx context.Context, j Job) error {
	status, err := c.do(ctx, http.MethodPost, jobPath(j)+"cancel/", nil, nil, nil)
	if status == http.StatusMethodNotAllowed {
		return nil // AWX answers 405 when the job cannot be cancelled any more.
	}
	return err
}

// RecentJobs lists the latest jobs of a template, newest first.
func (c *Client) RecentJobs(ctx context.Context, t Template, limit int) ([]Job, error) {
	path, key := "/jobs/", "job_template"
	if t.Workflow() {
		path, key = "/workflow_jobs/", "workflow_job_template"
	}
	jobs, err := list[Job](ctx, c, path, url.Values{key: {strconv.Itoa(t.ID)}, "order_by": {"-id"}}, limit)
	for i := range jobs {
		if jobs[i].Type == "" {
			jobs[i].Type = strings.TrimSuffix(path[1:], "s/")
		}
	}
	return jobs, err
}

// Stdout returns the lines of a job's output from line start (0-based)
// and the line to ask for next time.
func (c *Client) Stdout(ctx context.Context, j Job, start int) (lines []string, next int, err error) {
	var res struct {
		Range struct {
			Start       int `json:"start"`
			End         int `json:"end"`
			AbsoluteEnd int `json:"absolute_end"`
		} `json:"range"`
		Content string `json:"content"`
	}
	q := url.Values{"format": {"json"}, "start_line": {strconv.Itoa(start)}}
	if _, err := c.do(ctx, http.MethodGet, jobPath(j)+"stdout/", q, nil, &res); err != nil {
		return nil, start, err
	}
	if res.Content == "" {
		return nil, start, nil
	}
	lines = strings.Split(strings.TrimSuffix(res.Content, "\n"), "\n")
	next = res.Range.End
	if next <= start {
		next = start + len(lines)
	}
	return lines, next, nil
}

// WorkflowNode is one node of a workflow job.
type WorkflowNode struct {
	ID           int `json:"id"`
	SummaryField struct {
		Job struct {
			ID     int    `json:"id"`
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"job"`
	} `json:"summary_fields"`
}

// WorkflowNodes lists the nodes of a workflow job.
func (c *Client) WorkflowNodes(ctx context.Context, j Job) ([]WorkflowNode, error) {
	return list[WorkflowNode](ctx, c, jobPath(j)+"workflow_nodes/", nil, 0)
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// Poll is the first wait between reads (default 2s); it grows by half
	// up to MaxPoll (default 10s).
	Poll, MaxPoll time.Duration
	// Line receives each new output line (a job's stdout; for a workflow,
	// one line per node whose status changed).
	Line func(string)
	// Status receives each new status.
	Status func(string)
	// StartLine is where the output resumes (after a restart).
	StartLine int
	// Checkpoint receives the next output line to ask for, so a resumed
	// follow does not repeat lines.
	Checkpoint func(nextLine int)
	// Detach, when it returns true for the ended ctx, leaves the job
	// running instead of cancelling it (Atrium shutting down: the job is
	// resumed after the restart).
	Detach func(ctx context.Context) bool
}

// Follow reads j until it reaches a final status, streaming its output,
// and returns it. When ctx ends first, the job is cancelled.
func (c *Client) Follow(ctx context.Context, j Job, o FollowOptions) (Job, error) {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.MaxPoll < o.Poll {
		o.MaxPoll = max(10*time.Second, o.Poll)
	}
	line := o.StartLine
	nodes := map[int]string{}
	last := ""
	wait := o.Poll
	drain := func(ctx context.Context) error {
		if j.Workflow() {
			ns, err := c.WorkflowNodes(ctx, j)
			if err != nil {
				return err
			}
			for _, n := range ns {
				jb := n.SummaryField.Job
				if jb.ID == 0 || nodes[n.ID] == jb.Status {
					continue
				}
				nodes[n.ID] = jb.Status
				if o.Line != nil {
					o.Line(fmt.Sprintf("node %d: job %d %q is %s", n.ID, jb.ID, jb.Name, jb.Status))
				}
			}
			return nil
		}
		for range 100 {
			ls, next, err := c.Stdout(ctx, j, line)
			if err != nil {
				return err
			}
			if len(ls) == 0 {
				return nil
			}
			for _, l := range ls {
				if o.Line != nil {
					o.Line(l)
				}
			}
			line = next
			if o.Checkpoint != nil {
				o.Checkpoint(line)
			}
		}
		return nil
	}
	for {
		cur, err := c.Job(ctx, j)
		if err != nil {
			if ctx.Err() != nil {
				return j, c.cancelAfter(ctx, j, o.Detach)
			}
			return j, err
		}
		j.Status, j.Failed, j.Started, j.Finished, j.Elapsed, j.JobExplanation, j.Name =
			cur.Status, cur.Failed, cur.Started, cur.Finished, cur.Elapsed, cur.JobExplanation, cur.Name
		if j.Status != last {
			last = j.Status
			if o.Status != nil {
				o.Status(j.Status)
			}
		}
		if err := drain(ctx); err != nil && ctx.Err() == nil {
			return j, err
		}
		if Final(j.Status) {
			// The last events can land just after the final status.
			_ = drain(ctx)
			return j, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, c.cancelAfter(ctx, j, o.Detach)
		case <-t.C:
		}
		wait = min(wait*3/2, o.MaxPoll)
	}
}

// cancelAfter cancels j after ctx ended (unless detach says to leave it
// running) and returns ctx's error.
func (c *Client) cancelAfter(ctx context.Context, j Job, detach func(context.Context) bool) error {
	if detach != nil && detach(ctx) {
		return fmt.Errorf("%w; AWX job %d keeps running", ctx.Err(), j.ID)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
	defer cancel()
	if err := c.Cancel(cctx, j); err != nil {
		return fmt.Errorf("%w; cancelling AWX job %d failed: %v", ctx.Err(), j.ID, err)
	}
	return fmt.Errorf("%w; AWX job %d was cancelled", ctx.Err(), j.ID)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
