package gitlab

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"strings"

	"github.com/atrium-portal/atrium/plugin"
)

// PushSubscriber receives GitLab push webhooks at /api/events/gitlab/…
// (project or group hooks, "Push events", secret token = webhookToken)
// and refreshes the discovered entities of the pushed project.
type PushSubscriber struct{ p *Plugin }

var _ plugin.EventSubscriber = (*PushSubscriber)(nil)

func (s *PushSubscriber) Name() string { return "push" }

// Verify compares X-Gitlab-Token with webhookToken in constant time.
func (s *PushSubscriber) Verify(_ context.Context, ev plugin.Event) error {
	want := s.p.cfg.WebhookToken
	if want == "" {
		return plugin.Errorf(plugin.ErrUnauthorized, "GitLab webhooks are refused: plugins.gitlab.config.webhookToken is not set")
	}
	got := ev.Headers.Get("X-Gitlab-Token")
	if got == "" {
		return plugin.Errorf(plugin.ErrUnauthorized, "the request has no X-Gitlab-Token header; set the webhook's secret token")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return plugin.Errorf(plugin.ErrUnauthorized, "X-Gitlab-Token does not match plugins.gitlab.config.webhookToken")
	}
	return nil
}

type pushEvent struct {
	ObjectKind string `json:"object_kind"`
	Ref        string `json:"ref"`
	Project    struct {
		PathWithNamespace string `json:"path_with_namespace"`
		WebURL            string `json:"web_url"`
		DefaultBranch     string `json:"default_branch"`
	} `json:"project"`
}

// Handle refreshes the project of a push to its discovered branch; other
// events and pushes to other branches are acknowledged and ignored.
func (s *PushSubscriber) Handle(ctx context.Context, ev plugin.Event) error {
	var pe pushEvent
	if err := json.Unmarshal(ev.Body, &pe); err != nil {
		return plugin.Errorf(plugin.ErrInvalid, "the GitLab event is not JSON: %v", err)
	}
	kind := pe.ObjectKind
	if h := ev.Headers.Get("X-Gitlab-Event"); kind == "" && h != "" {
		kind = strings.ToLower(strings.TrimSuffix(h, " Hook"))
	}
	if kind != "push" {
		return nil
	}
	if pe.Project.PathWithNamespace == "" || pe.Project.WebURL == "" {
		return plugin.Errorf(plugin.ErrInvalid, "the push event has no project.path_with_namespace or project.web_url")
	}
	inst, _, ok := s.p.instanceForURL(pe.Project.WebURL)
	if !ok {
		return plugin.Errorf(plugin.ErrInvalid, "the push is for %s, which is not on a configured GitLab instance (%s)", pe.Project.WebURL, strings.Join(s.p.hosts(), ", "))
	}
	host := inst.cfg.Host
	d, ok := s.p.discoveryFor(host, pe.Project.PathWithNamespace)
	if !ok {
		return nil
	}
	branch := d.Branch
	if branch == "" {
		branch = pe.Project.DefaultBranch
	}
	if branch != "" && pe.Ref != "refs/heads/"+branch {
		return nil
	}
	_, err := s.p.provider.Refresh(ctx, host, pe.Project.PathWithNamespace)
	return err
}
