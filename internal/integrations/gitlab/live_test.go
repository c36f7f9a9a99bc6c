package gitlab_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/gitlab"
)

// TestLiveGitLab talks to a real GitLab when one is configured, read-only:
// it checks the token and lists the groups the token sees. It never runs
// unconfigured (CI has no credentials) and says how to run it.
func TestLiveGitLab(t *testing.T) {
	url, token := os.Getenv("ATRIUM_LIVE_GITLAB_URL"), os.Getenv("ATRIUM_LIVE_GITLAB_TOKEN")
	if url == "" || token == "" {
		t.Skip("set ATRIUM_LIVE_GITLAB_URL (https://gitlab.example.com) and ATRIUM_LIVE_GITLAB_TOKEN (read_api) to run against a real GitLab")
	}
	c, err := gitlab.New(gitlab.Config{BaseURL: url, Token: token, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	user, _, err := c.API.Users.CurrentUser(gitlab.Opt(ctx))
	if err != nil {
		t.Fatalf("current user: %v", c.Err("current user", err))
	}
	t.Logf("signed in to %s as %s", url, user.Username)
	groups, _, err := c.API.Groups.ListGroups(nil, gitlab.Opt(ctx))
	if err != nil {
		t.Fatalf("groups: %v", c.Err("list groups", err))
	}
	t.Logf("%d groups visible", len(groups))
}
