// Package tfc is Atrium's client of HCP Terraform (Terraform Cloud) and
// Terraform Enterprise, built on github.com/hashicorp/go-tfe: workspaces
// (ensured idempotently), variables (created or updated, sensitive ones
// never echoed), configuration versions uploaded from a folder, runs
// followed through plan, policy checks and apply, and state outputs.
// go-tfe retries 429 (honouring the rate-limit reset); reads are retried
// here on 5xx and on no answer; a circuit breaker stops calling a server
// that keeps failing.
package tfc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/atrium-portal/atrium/internal/integrations/breaker"
)

// Config configures a Client.
type Config struct {
	// Address is https://app.terraform.io or a Terraform Enterprise URL.
	Address string
	// Token is a user or team API token.
	Token string
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// BreakerThreshold is how many failed calls in a row (no answer,
	// 5xx or 429 after go-tfe's retries) open the circuit breaker
	// (default 5; -1: no breaker).
	BreakerThreshold int
	// BreakerCooldown is how long the open breaker refuses calls
	// (default 30s).
	BreakerCooldown time.Duration
	// MaxRetries is how often a read that got no answer or a 5xx is
	// retried (default 3; -1: never). Writes are not retried.
	MaxRetries int
	// Transport does the requests (nil: http.DefaultTransport).
	Transport http.RoundTripper
}

// Client talks to one HCP Terraform / Terraform Enterprise.
type Client struct {
	tfe        *tfe.Client
	address    string
	breaker    *breaker.Breaker
	maxRetries int
}

// New connects: go-tfe reads the API version from GET /api/v2/ping.
func New(cfg Config) (*Client, error) {
	if !strings.HasPrefix(cfg.Address, "http://") && !strings.HasPrefix(cfg.Address, "https://") {
		return nil, fmt.Errorf("address: %q is not an http(s) URL such as https://app.terraform.io", cfg.Address)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	// go-tfe replaces the address's path by its base path: keep a path
	// prefix (a server behind a path, the demo's /sim/terraform) there.
	u, err := url.Parse(strings.TrimSuffix(cfg.Address, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("address: %q is not a URL", cfg.Address)
	}
	basePath := u.Path + tfe.DefaultBasePath
	u.Path = ""
	c, err := tfe.NewClient(&tfe.Config{
		Address:           u.String(),
		BasePath:          basePath,
		Token:             cfg.Token,
		HTTPClient:        &http.Client{Transport: tr, Timeout: cfg.Timeout},
		RetryServerErrors: false,
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to Terraform at %s: %w", cfg.Address, err)
	}
	if cfg.BreakerThreshold == 0 {
		cfg.BreakerThreshold = 5
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 30 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	return &Client{tfe: c, address: strings.TrimSuffix(cfg.Address, "/"), maxRetries: max(cfg.MaxRetries, 0),
		breaker: breaker.New("Terraform", cfg.BreakerThreshold, cfg.BreakerCooldown)}, nil
}

// Address is the server's URL.
func (c *Client) Address() string { return c.address }

// API is the underlying go-tfe client.
func (c *Client) API() *tfe.Client { return c.tfe }

// WorkspaceURL is the browser URL of a workspace.
func (c *Client) WorkspaceURL(org, name string) string {
	return fmt.Sprintf("%s/app/%s/workspaces/%s", c.address, org, name)
}

// RunURL is the browser URL of a run.
func (c *Client) RunURL(org, workspace, runID string) string {
	return c.WorkspaceURL(org, workspace) + "/runs/" + runID
}

// Status is the HTTP status behind a go-tfe error (0 when unknown).
func Status(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, tfe.ErrResourceNotFound):
		return http.StatusNotFound
	case errors.Is(err, tfe.ErrUnauthorized):
		return http.StatusUnauthorized
	}
	msg := err.Error()
	for _, s := range []int{400, 403, 409, 422, 429, 500, 502, 503} {
		if strings.Contains(msg, http.StatusText(s)) {
			return s
		}
	}
	return 0
}

// read runs an idempotent read, retrying it when Terraform does not
// answer or answers 5xx: MaxRetries times, waiting 500ms, doubling.
// (go-tfe's own retry of 5xx waits minutes in total, so it is off; it
// still retries 429 after the rate-limit reset.)
func read[T any](ctx context.Context, c *Client, fn func() (T, error)) (T, error) {
	wait := 500 * time.Millisecond
	for attempt := 0; ; attempt++ {
		v, err := fn()
		s := Status(err)
		if err == nil || ctx.Err() != nil || (s != 0 && s < 500) || attempt >= c.maxRetries {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// WorkspaceSpec is what EnsureWorkspace makes true.
type WorkspaceSpec struct {
	Organization     string
	Name             string
	Project          string // project id (prj-…) or name; empty: the default project
	Description      string
	Tags             []string
	AutoApply        *bool
	ExecutionMode    string // remote, local or agent
	WorkingDirectory *string
	TerraformVersion string
}

// EnsureWorkspace reads the workspace and updates it to spec, or creates
// it. created reports which.
func (c *Client) EnsureWorkspace(ctx context.Context, spec WorkspaceSpec) (ws *tfe.Workspace, created bool, err error) {
	if err = c.breaker.Allow(); err != nil {
		return nil, false, err
	}
	defer done(ctx, c.breaker, &err)
	var project *tfe.Project
	if spec.Project != "" {
		if project, err = c.project(ctx, spec.Organization, spec.Project); err != nil {
			return nil, false, err
		}
	}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return tfe.String(s)
	}
	ws, err = read(ctx, c, func() (*tfe.Workspace, error) { return c.tfe.Workspaces.Read(ctx, spec.Organization, spec.Name) })
	switch {
	case err == nil:
		ws, err = c.tfe.Workspaces.Update(ctx, spec.Organization, spec.Name, tfe.WorkspaceUpdateOptions{
			AutoApply: spec.AutoApply, ExecutionMode: str(spec.ExecutionMode), WorkingDirectory: spec.WorkingDirectory,
			Description: str(spec.Description), TerraformVersion: str(spec.TerraformVersion), Project: project,
		})
		if err != nil {
			return nil, false, fmt.Errorf("updating workspace %s/%s: %w", spec.Organization, spec.Name, err)
		}
	case errors.Is(err, tfe.ErrResourceNotFound):
		ws, err = c.tfe.Workspaces.Create(ctx, spec.Organization, tfe.WorkspaceCreateOptions{
			Name: tfe.String(spec.Name), AutoApply: spec.AutoApply, ExecutionMode: str(spec.ExecutionMode), WorkingDirectory: spec.WorkingDirectory,
			Description: str(spec.Description), TerraformVersion: str(spec.TerraformVersion), Project: project,
		})
		if err != nil {
			return nil, false, fmt.Errorf("creating workspace %s/%s: %w", spec.Organization, spec.Name, err)
		}
		created = true
	default:
		return nil, false, fmt.Errorf("reading workspace %s/%s: %w", spec.Organization, spec.Name, err)
	}
	if len(spec.Tags) > 0 {
		tags := make([]*tfe.Tag, 0, len(spec.Tags))
		for _, t := range spec.Tags {
			tags = append(tags, &tfe.Tag{Name: t})
		}
		if err := c.tfe.Workspaces.AddTags(ctx, ws.ID, tfe.WorkspaceAddTagsOptions{Tags: tags}); err != nil {
			return nil, false, fmt.Errorf("tagging workspace %s/%s: %w", spec.Organization, spec.Name, err)
		}
		ws, err = read(ctx, c, func() (*tfe.Workspace, error) { return c.tfe.Workspaces.Read(ctx, spec.Organization, spec.Name) })
		if err != nil {
			return nil, false, err
		}
	}
	return ws, created, nil
}

// project finds a project by id or name.
func (c *Client) project(ctx context.Context, org, ref string) (*tfe.Project, error) {
	if strings.HasPrefix(ref, "prj-") {
		return &tfe.Project{ID: ref}, nil
	}
	opts := &tfe.ProjectListOptions{Name: ref, ListOptions: tfe.ListOptions{PageSize: 100}}
	for range 100 {
		l, err := read(ctx, c, func() (*tfe.ProjectList, error) { return c.tfe.Projects.List(ctx, org, opts) })
		if err != nil {
			return nil, fmt.Errorf("listing the projects of %s: %w", org, err)
		}
		for _, p := range l.Items {
			if p.Name == ref {
				return p, nil
			}
		}
		if l.Pagination == nil || l.NextPage == 0 {
			break
		}
		opts.PageNumber = l.NextPage
	}
	return nil, fmt.Errorf("organization %s has no project named %q: %w", org, ref, tfe.ErrResourceNotFound)
}

// Workspace reads a workspace.
func (c *Client) Workspace(ctx context.Context, org, name string) (_ *tfe.Workspace, err error) {
	if err = c.breaker.Allow(); err != nil {
		return nil, err
	}
	defer done(ctx, c.breaker, &err)
	ws, err := read(ctx, c, func() (*tfe.Workspace, error) { return c.tfe.Workspaces.Read(ctx, org, name) })
	if err != nil {
		return nil, fmt.Errorf("reading workspace %s/%s: %w", org, name, err)
	}
	return ws, nil
}

// Variable is a workspace variable to set.
type Variable struct {
	Key         string
	Value       string
	Category    tfe.CategoryType // terraform or env
	HCL         bool
	Sensitive   bool
	Description string
}

// SetVariable creates the variable or updates the one with the same key
// and category. created reports which.
func (c *Client) SetVariable(ctx context.Context, wsID string, v Variable) (created bool, err error) {
	if err = c.breaker.Allow(); err != nil {
		return false, err
	}
	defer done(ctx, c.breaker, &err)
	opts := &tfe.VariableListOptions{ListOptions: tfe.ListOptions{PageSize: 100}}
	for range 100 {
		l, err := read(ctx, c, func() (*tfe.VariableList, error) { return c.tfe.Variables.List(ctx, wsID, opts) })
		if err != nil {
			return false, fmt.Errorf("listing variables: %w", err)
		}
		for _, cur := range l.Items {
			if cur.Key == v.Key && cur.Category == v.Category {
				_, err := c.tfe.Variables.Update(ctx, wsID, cur.ID, tfe.VariableUpdateOptions{
					Value: tfe.String(v.Value), HCL: tfe.Bool(v.HCL), Sensitive: tfe.Bool(v.Sensitive), Description: tfe.String(v.Description)})
				if err != nil {
					return false, fmt.Errorf("updating variable %s: %w", v.Key, err)
				}
				return false, nil
			}
		}
		if l.Pagination == nil || l.NextPage == 0 {
			break
		}
		opts.PageNumber = l.NextPage
	}
	_, err = c.tfe.Variables.Create(ctx, wsID, tfe.VariableCreateOptions{Key: tfe.String(v.Key), Value: tfe.String(v.Value),
		Category: tfe.Category(v.Category), HCL: tfe.Bool(v.HCL), Sensitive: tfe.Bool(v.Sensitive), Description: tfe.String(v.Description)})
	if err != nil {
		return false, fmt.Errorf("creating variable %s: %w", v.Key, err)
	}
	return true, nil
}

// Upload packs dir (go-slug, honouring .terraformignore) as a new
// configuration version of the workspace and waits until it is uploaded.
func (c *Client) Upload(ctx context.Context, wsID, dir string) (_ *tfe.ConfigurationVersion, err error) {
	if err = c.breaker.Allow(); err != nil {
		return nil, err
	}
	defer done(ctx, c.breaker, &err)
	cv, err := c.tfe.ConfigurationVersions.Create(ctx, wsID, tfe.ConfigurationVersionCreateOptions{AutoQueueRuns: tfe.Bool(false)})
	if err != nil {
		return nil, fmt.Errorf("creating a configuration version: %w", err)
	}
	if err := c.tfe.ConfigurationVersions.Upload(ctx, cv.UploadURL, dir); err != nil {
		return nil, fmt.Errorf("uploading the configuration: %w", err)
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		id := cv.ID
		cv, err = read(ctx, c, func() (*tfe.ConfigurationVersion, error) { return c.tfe.ConfigurationVersions.Read(ctx, id) })
		if err != nil {
			return nil, fmt.Errorf("reading configuration version: %w", err)
		}
		switch cv.Status {
		case tfe.ConfigurationUploaded:
			return cv, nil
		case tfe.ConfigurationErrored:
			return nil, fmt.Errorf("configuration version %s errored: %s", cv.ID, cv.ErrorMessage)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// CreateRun queues a run of the configuration version.
func (c *Client) CreateRun(ctx context.Context, wsID, cvID, message string, autoApply bool) (_ *tfe.Run, err error) {
	if err = c.breaker.Allow(); err != nil {
		return nil, err
	}
	defer done(ctx, c.breaker, &err)
	r, err := c.tfe.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: &tfe.Workspace{ID: wsID},
		ConfigurationVersion: &tfe.ConfigurationVersion{ID: cvID}, Message: tfe.String(message), AutoApply: tfe.Bool(autoApply)})
	if err != nil {
		return nil, fmt.Errorf("creating a run: %w", err)
	}
	return r, nil
}

// Run reads a run with its plan and apply.
func (c *Client) Run(ctx context.Context, id string) (_ *tfe.Run, err error) {
	if err = c.breaker.Allow(); err != nil {
		return nil, err
	}
	defer done(ctx, c.breaker, &err)
	r, err := read(ctx, c, func() (*tfe.Run, error) {
		return c.tfe.Runs.ReadWithOptions(ctx, id, &tfe.RunReadOptions{Include: []tfe.RunIncludeOpt{tfe.RunPlan, tfe.RunApply}})
	})
	if err != nil {
		return nil, fmt.Errorf("reading run %s: %w", id, err)
	}
	return r, nil
}

// Runs lists a workspace's latest runs, newest first.
func (c *Client) Runs(ctx context.Context, wsID string, limit int) (_ []*tfe.Run, err error) {
	if err = c.breaker.Allow(); err != nil {
		return nil, err
	}
	defer done(ctx, c.breaker, &err)
	var out []*tfe.Run
	opts := &tfe.RunListOptions{ListOptions: tfe.ListOptions{PageSize: min(limit, 100)}, Include: []tfe.RunIncludeOpt{tfe.RunPlan, tfe.RunApply}}
	for len(out) < limit {
		l, err := read(ctx, c, func() (*tfe.RunList, error) { return c.tfe.Runs.List(ctx, wsID, opts) })
		if err != nil {
			return nil, fmt.Errorf("listing runs: %w", err)
		}
		out = append(out, l.Items...)
		if l.Pagination == nil || l.NextPage == 0 || len(l.Items) == 0 {
			break
		}
		opts.PageNumber = l.NextPage
	}
	return out[:min(len(out), limit)], nil
}

// Output is a state output.
type Output struct {
	Name      string
	Value     any
	Sensitive bool
}

// Outputs are the workspace's current state outputs; sensitive values
// are nil.
func (c *Client) Outputs(ctx context.Context, wsID string) (_ []Output, err error) {
	if err = c.breaker.Allow(); err != nil {
		return nil, err
	}
	defer done(ctx, c.breaker, &err)
	l, err := read(ctx, c, func() (*tfe.StateVersionOutputsList, error) { return c.tfe.StateVersionOutputs.ReadCurrent(ctx, wsID) })
	if err != nil {
		if errors.Is(err, tfe.ErrResourceNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the state outputs: %w", err)
	}
	var out []Output
	for _, o := range l.Items {
		v := o.Value
		if o.Sensitive {
			v = nil
		}
		out = append(out, Output{Name: o.Name, Value: v, Sensitive: o.Sensitive})
	}
	return out, nil
}

// Final reports whether a run status is final, and whether it succeeded.
func Final(s tfe.RunStatus) (final, ok bool) {
	switch s {
	case tfe.RunApplied, tfe.RunPlannedAndFinished, tfe.RunPlannedAndSaved:
		return true, true
	case tfe.RunErrored, tfe.RunCanceled, tfe.RunDiscarded, tfe.RunPolicySoftFailed:
		return true, false
	}
	return false, false
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// Poll is the wait between reads (default 3s).
	Poll time.Duration
	// Apply confirms a run that waits for confirmation; without it, such
	// a run is left waiting and Follow returns it.
	Apply bool
	// Comment is the apply comment.
	Comment string
	// Status receives each new status of the run.
	Status func(*tfe.Run)
	// Detach, when it returns true for the ended ctx, leaves the run as
	// it is instead of cancelling it (Atrium shutting down).
	Detach func(ctx context.Context) bool
}

// Follow reads a run until it is final (or waits for a confirmation that
// o.Apply does not give), confirming it when o.Apply is set. When ctx
// ends first the run is cancelled.
func (c *Client) Follow(ctx context.Context, id string, o FollowOptions) (*tfe.Run, error) {
	if o.Poll <= 0 {
		o.Poll = 3 * time.Second
	}
	last := tfe.RunStatus("")
	applied := false
	for {
		r, err := c.Run(ctx, id)
		if err != nil {
			if strings.Contains(err.Error(), "would exceed context deadline") {
				// go-tfe's rate limiter gives up before the deadline.
				<-ctx.Done()
			}
			if ctx.Err() != nil {
				return nil, c.cancelAfter(ctx, id, o.Detach)
			}
			return nil, err
		}
		if r.Status != last {
			last = r.Status
			if o.Status != nil {
				o.Status(r)
			}
		}
		if final, _ := Final(r.Status); final {
			return r, nil
		}
		if r.Actions != nil && r.Actions.IsConfirmable {
			if !o.Apply {
				return r, nil
			}
			if !applied {
				if err := c.tfe.Runs.Apply(ctx, id, tfe.RunApplyOptions{Comment: tfe.String(o.Comment)}); err != nil {
					return r, fmt.Errorf("applying run %s: %w", id, err)
				}
				applied = true
			}
		}
		select {
		case <-ctx.Done():
			return r, c.cancelAfter(ctx, id, o.Detach)
		case <-time.After(o.Poll):
		}
	}
}

func (c *Client) cancelAfter(ctx context.Context, id string, detach func(context.Context) bool) error {
	if detach != nil && detach(ctx) {
		return fmt.Errorf("%w; run %s continues in Terraform", ctx.Err(), id)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := c.tfe.Runs.Cancel(cctx, id, tfe.RunCancelOptions{Comment: tfe.String("cancelled by Atrium")}); err != nil {
		return fmt.Errorf("%w; cancelling run %s failed: %v", ctx.Err(), id, err)
	}
	return fmt.Errorf("%w; run %s was cancelled", ctx.Err(), id)
}
