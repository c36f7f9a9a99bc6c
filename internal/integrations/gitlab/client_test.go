package gitlab_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/internal/integrations/gitlab/gitlabsim"
	"github.com/atrium-portal/atrium/plugin"
)

const token = "glpat-test-token"

// setup starts a simulated GitLab on 127.0.0.1 and the real client.
func setup(t *testing.T, mod func(*gitlab.Config)) (*gitlabsim.Sim, *gitlab.Client) {
	t.Helper()
	sim := gitlabsim.New(token, "")
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.WebURL = srv.URL
	cfg := gitlab.Config{Host: strings.TrimPrefix(srv.URL, "http://"), BaseURL: srv.URL, Token: token}
	if mod != nil {
		mod(&cfg)
	}
	c, err := gitlab.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func count(reqs []string, sub string) int {
	n := 0
	for _, r := range reqs {
		if strings.Contains(r, sub) {
			n++
		}
	}
	return n
}

func TestPagination(t *testing.T) {
	sim, c := setup(t, nil)
	for i := range 45 {
		sim.AddProject(fmt.Sprintf("platform/sub/svc-%02d", i), "main", nil)
	}
	ctx := context.Background()
	projects, err := gitlab.Pages(0, func(page int64) ([]*gl.Project, *gl.Response, error) {
		return c.API.Groups.ListGroupProjects("platform", &gl.ListGroupProjectsOptions{IncludeSubGroups: gl.Ptr(true),
			ListOptions: gl.ListOptions{Page: page, PerPage: 20}}, gitlab.Opt(ctx))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(projects), 45; got != want {
		t.Errorf("projects = %d, want %d", got, want)
	}
	if got, want := count(sim.Requests(), "/groups/platform/projects"), 3; got != want {
		t.Errorf("list requests = %d, want %d", got, want)
	}
	first, err := gitlab.Pages(25, func(page int64) ([]*gl.Project, *gl.Response, error) {
		return c.API.Groups.ListGroupProjects("platform", &gl.ListGroupProjectsOptions{IncludeSubGroups: gl.Ptr(true),
			ListOptions: gl.ListOptions{Page: page, PerPage: 20}}, gitlab.Opt(ctx))
	})
	if err != nil || len(first) != 25 {
		t.Errorf("limited: %d projects, err %v; want 25", len(first), err)
	}
}

func TestUsers(t *testing.T) {
	sim, c := setup(t, nil)
	for i := range 7 {
		sim.AddUser(fmt.Sprintf("user-%d", i))
	}
	ctx := context.Background()
	users, err := gitlab.Pages(0, func(page int64) ([]*gl.User, *gl.Response, error) {
		return c.API.Users.ListUsers(&gl.ListUsersOptions{ListOptions: gl.ListOptions{Page: page, PerPage: 3}}, gitlab.Opt(ctx))
	})
	if err != nil || len(users) != 7 || users[6].Username != "user-6" {
		t.Fatalf("users = %d, err %v", len(users), err)
	}
	one, _, err := c.API.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr("user-3")}, gitlab.Opt(ctx))
	if err != nil || len(one) != 1 || one[0].Username != "user-3" {
		t.Errorf("by username: %v, %v", one, err)
	}
}

func TestErrorKinds(t *testing.T) {
	ctx := context.Background()
	sim, c := setup(t, func(c *gitlab.Config) { c.MaxRetries = -1 })
	pid := sim.AddProject("platform/svc", "main", map[string]string{"README.md": "hi"})
	_, _, err := c.API.Commits.CreateCommit(pid, &gl.CreateCommitOptions{Branch: gl.Ptr("feature"), StartBranch: gl.Ptr("main"),
		CommitMessage: gl.Ptr("x"), Actions: []*gl.CommitActionOptions{{Action: gl.Ptr(gl.FileCreate), FilePath: gl.Ptr("a.txt"), Content: gl.Ptr("a")}}}, gitlab.Opt(ctx))
	if err != nil {
		t.Fatal(err)
	}
	mr := &gl.CreateMergeRequestOptions{Title: gl.Ptr("t"), SourceBranch: gl.Ptr("feature"), TargetBranch: gl.Ptr("main")}
	if _, _, err := c.API.MergeRequests.CreateMergeRequest(pid, mr, gitlab.Opt(ctx)); err != nil {
		t.Fatal(err)
	}
	_, wrong := setup(t, func(c *gitlab.Config) { c.Token = "nope" })
	for _, tc := range []struct {
		name string
		call func() error
		want plugin.ErrorKind
		msg  string
	}{
		{"401", func() error {
			_, _, err := wrong.API.Projects.GetProject(1, nil, gitlab.Opt(ctx))
			return wrong.Err("reading project 1", err)
		},
			plugin.ErrUnauthorized, "HTTP 401"},
		{"403", func() error {
			sim.AddFault(gitlabsim.Fault{PathContains: "/projects/", Status: 403})
			_, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(ctx))
			return c.Err("reading project", err)
		}, plugin.ErrForbidden, "HTTP 403"},
		{"404", func() error {
			_, _, err := c.API.Projects.GetProject("platform/none", nil, gitlab.Opt(ctx))
			return c.Err("reading project", err)
		},
			plugin.ErrNotFound, "not found (HTTP 404)"},
		{"409", func() error {
			_, _, err := c.API.MergeRequests.CreateMergeRequest(pid, mr, gitlab.Opt(ctx))
			return c.Err("opening MR", err)
		},
			plugin.ErrConflict, "Another open merge request"},
		{"422", func() error {
			_, _, err := c.API.MergeRequests.CreateMergeRequest(pid, &gl.CreateMergeRequestOptions{Title: gl.Ptr("t"),
				SourceBranch: gl.Ptr("nope"), TargetBranch: gl.Ptr("main")}, gitlab.Opt(ctx))
			return c.Err("opening MR", err)
		}, plugin.ErrInvalid, "HTTP 422"},
		{"429 too long", func() error {
			sim.AddFault(gitlabsim.Fault{PathContains: "/projects/", Status: 429, Header: http.Header{"Retry-After": {"3600"}}})
			_, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(ctx))
			return c.Err("reading project", err)
		}, plugin.ErrUnavailable, "it asks to wait 1h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := plugin.KindOf(err); got != tc.want {
				t.Fatalf("kind = %v (%v), want %v", got, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "GitLab ") {
				t.Errorf("error = %q, want it to name GitLab and contain %q", err, tc.msg)
			}
		})
	}
	if strings.Contains(fmt.Sprint(wrong.Err("x", fmt.Errorf("boom"))), "nope") {
		t.Error("the token leaks into errors")
	}
}

func TestRetryAfter(t *testing.T) {
	sim, c := setup(t, nil)
	pid := sim.AddProject("platform/svc", "main", nil)
	sim.AddFault(gitlabsim.Fault{PathContains: "/projects/", Status: 429, Header: http.Header{"Retry-After": {"1"}}})
	start := time.Now()
	p, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != pid {
		t.Errorf("project %d, want %d", p.ID, pid)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("answered after %v, want at least the 1 s of Retry-After", d)
	}
	if got := count(sim.Requests(), fmt.Sprintf("/projects/%d", pid)); got != 2 {
		t.Errorf("requests = %d, want 2 (the 429, then the retry)", got)
	}
	if c.Budget.PausedUntil().IsZero() {
		t.Error("the host's budget was not paused by the 429")
	}
}

func TestRateLimitReset(t *testing.T) {
	sim, c := setup(t, nil)
	pid := sim.AddProject("platform/svc", "main", nil)
	reset := time.Now().Add(1500 * time.Millisecond).Unix()
	sim.AddFault(gitlabsim.Fault{PathContains: "/projects/", Status: 429, Header: http.Header{"Ratelimit-Reset": {fmt.Sprint(reset)}}})
	start := time.Now()
	if _, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(context.Background())); err != nil {
		t.Fatal(err)
	}
	if time.Now().Unix() < reset {
		t.Errorf("retried after %v, before RateLimit-Reset", time.Since(start))
	}
}

func TestServerErrors(t *testing.T) {
	ctx := context.Background()
	sim, c := setup(t, nil)
	pid := sim.AddProject("platform/svc", "main", nil)
	sim.AddFault(gitlabsim.Fault{Method: "GET", PathContains: "/projects/", Status: 500, Times: 2})
	if _, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(ctx)); err != nil {
		t.Fatalf("GET after two 500s: %v", err)
	}
	if got := count(sim.Requests(), "GET /api/v4/projects/"); got != 3 {
		t.Errorf("GET requests = %d, want 3", got)
	}
	// A POST answered 500 may have been acted on: not retried.
	sim.AddFault(gitlabsim.Fault{Method: "POST", PathContains: "/projects", Status: 500})
	_, _, err := c.API.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("x"), NamespaceID: gl.Ptr(int64(1))}, gitlab.Opt(ctx))
	if got := plugin.KindOf(c.Err("creating", err)); got != plugin.ErrUnavailable {
		t.Errorf("kind = %v, want unavailable", got)
	}
	if got := count(sim.Requests(), "POST /api/v4/projects"); got != 1 {
		t.Errorf("POST requests = %d, want 1", got)
	}
	// 503: GitLab did not act, retried even for a POST.
	sim.AddFault(gitlabsim.Fault{Method: "POST", PathContains: "/groups", Status: 503})
	if _, _, err := c.API.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr("g"), Path: gl.Ptr("g")}, gitlab.Opt(ctx)); err != nil {
		t.Errorf("POST after a 503: %v", err)
	}
}

func TestSlowGitLab(t *testing.T) {
	sim, c := setup(t, func(c *gitlab.Config) { c.Timeout = 200 * time.Millisecond; c.MaxRetries = -1 })
	pid := sim.AddProject("platform/svc", "main", nil)
	sim.SetDelay(2 * time.Second)
	start := time.Now()
	_, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(context.Background()))
	err = c.Err("reading project", err)
	if plugin.KindOf(err) != plugin.ErrUnavailable || !strings.Contains(err.Error(), "no answer in time") {
		t.Errorf("err = %v, want unavailable, no answer in time", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("gave up after %v, want about the 200 ms timeout", d)
	}
}

func TestCircuitBreaker(t *testing.T) {
	ctx := context.Background()
	sim, c := setup(t, func(c *gitlab.Config) {
		c.MaxRetries = -1
		c.BreakerThreshold = 2
		c.BreakerCooldown = 300 * time.Millisecond
	})
	pid := sim.AddProject("platform/svc", "main", nil)
	sim.AddFault(gitlabsim.Fault{PathContains: "/projects/", Status: 502, Times: 2})
	for range 2 {
		if _, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(ctx)); err == nil {
			t.Fatal("want the 502")
		}
	}
	before := len(sim.Requests())
	_, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(ctx))
	err = c.Err("reading project", err)
	if !strings.Contains(fmt.Sprint(err), "circuit breaker") || plugin.KindOf(err) != plugin.ErrUnavailable {
		t.Errorf("err = %v, want the open breaker", err)
	}
	if len(sim.Requests()) != before {
		t.Error("a request reached GitLab while the breaker was open")
	}
	time.Sleep(350 * time.Millisecond)
	if _, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(ctx)); err != nil {
		t.Errorf("after the cooldown: %v", err)
	}
	if c.Breaker.Open() {
		t.Error("the breaker stayed open after a success")
	}
}

func TestBudget(t *testing.T) {
	sim, c := setup(t, func(c *gitlab.Config) { c.RequestsPerSecond = 10; c.Burst = 1 })
	pid := sim.AddProject("platform/svc", "main", nil)
	start := time.Now()
	for range 5 {
		if _, _, err := c.API.Projects.GetProject(pid, nil, gitlab.Opt(context.Background())); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Errorf("5 requests at 10/s with burst 1 took %v, want at least 400 ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := gitlab.NewBudget(0.001, 1).Wait(ctx); err != nil {
		t.Errorf("the first token of a full bucket: %v", err)
	}
}
