// Package gitlab is the built-in GitLab plugin: scaffolder actions
// (publish:gitlab, publish:gitlab:merge-request, gitlab:group:ensureExists,
// gitlab:projectVariable:create), a reader of catalog url locations on
// the configured GitLab hosts, discovery of catalog-info.yaml files across
// groups (on a schedule and on push webhooks) and the "GitLab" entity
// card. Each configured instance has its own client
// (internal/integrations/gitlab) with a request budget, retries and a
// circuit breaker.
package gitlab

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/internal/integrations/gitlab/gitlabsim"
	"github.com/atrium-portal/atrium/plugin"
)

// ID is the plugin's id (plugins.gitlab in app-config).
const ID = "gitlab"

//go:embed config.schema.json
var configSchema []byte

// Config is plugins.gitlab.config.
type Config struct {
	Instances []InstanceConfig  `json:"instances"`
	Discovery []DiscoveryConfig `json:"discovery"`
	// WebhookToken is the secret GitLab sends in X-Gitlab-Token with push
	// events posted to /api/events/gitlab/push.
	WebhookToken string `json:"webhookToken"`
	// Limits of one commit made by the actions.
	MaxCommitFiles int   `json:"maxCommitFiles"`
	MaxCommitBytes int64 `json:"maxCommitBytes"`
	// MaxReadmeBytes is how much of a README the card shows.
	MaxReadmeBytes int `json:"maxReadmeBytes"`
}

// InstanceConfig is one GitLab instance.
type InstanceConfig struct {
	Host              string  `json:"host"`
	APIBaseURL        string  `json:"apiBaseUrl"`
	Token             string  `json:"token"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	Burst             int     `json:"burst"`
	MaxRetries        int     `json:"maxRetries"`
	MaxRetryWait      string  `json:"maxRetryWait"`
	Timeout           string  `json:"timeout"`
	BreakerThreshold  int     `json:"breakerThreshold"`
	BreakerCooldown   string  `json:"breakerCooldown"`
	// Simulated marks an instance served by the built-in simulator (demo).
	Simulated bool `json:"-"`
}

// DiscoveryConfig scans groups of one instance for entity files.
type DiscoveryConfig struct {
	Host            string   `json:"host"`
	Groups          []string `json:"groups"`
	EntityFilename  string   `json:"entityFilename"`
	Branch          string   `json:"branch"`
	RefreshInterval string   `json:"refreshInterval"`
	SkipForks       *bool    `json:"skipForkedRepos"`
	// MaxProjects bounds the projects of one group (0: 10000).
	MaxProjects int `json:"maxProjects"`
}

// Options are what Atrium hands the built-in besides its configuration.
type Options struct {
	// Demo, with no instance configured, points the plugin at a simulated
	// GitLab (internal/integrations/gitlab/gitlabsim) that Atrium serves
	// at /sim/gitlab/ and the plugin's client reaches in-process.
	Demo bool
	// Transport does the HTTP requests of real instances (nil: default).
	Transport http.RoundTripper
}

// SimulatedHost is the host name of the demo's simulated GitLab.
const SimulatedHost = "gitlab.simulated"

// Plugin is the GitLab plugin.
type Plugin struct {
	opts Options
	cfg  Config
	log  *slog.Logger
	// sim is the demo's simulated GitLab (nil unless Options.Demo).
	sim *gitlabsim.Sim

	instances map[string]*instance
	provider  *Provider
}

type instance struct {
	cfg    InstanceConfig
	client *client.Client
	// web is the instance's browser URL, which project URLs start with.
	web string
}

var _ plugin.Plugin = (*Plugin)(nil)

// New returns the plugin; Provision configures it.
func New(opts Options) *Plugin { return &Plugin{opts: opts} }

func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		ID:           ID,
		Version:      "1.0.0",
		APIVersions:  ">=1.0.0 <2.0.0",
		Description:  "GitLab: publish and merge-request actions, groups and CI variables, url locations, catalog discovery and the GitLab entity card.",
		ConfigSchema: configSchema,
		Permissions:  []string{"scaffolder.action.execute", "catalog.entity.read"},
	}
}

func (p *Plugin) Provision(ctx context.Context, host plugin.Host, raw json.RawMessage) error {
	p.log = host.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.cfg = Config{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p.cfg); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.gitlab.config: %v", err)
		}
	}
	if p.cfg.MaxCommitFiles <= 0 {
		p.cfg.MaxCommitFiles = 5000
	}
	if p.cfg.MaxCommitBytes <= 0 {
		p.cfg.MaxCommitBytes = 50 << 20
	}
	if p.cfg.MaxReadmeBytes <= 0 {
		p.cfg.MaxReadmeBytes = 64 << 10
	}
	p.sim = nil
	if p.opts.Demo && len(p.cfg.Instances) == 0 {
		p.sim = gitlabsim.New("", strings.TrimSuffix(host.BaseURL, "/")+"/sim/gitlab")
		seedDemo(p.sim)
		p.cfg.Instances = []InstanceConfig{{Host: SimulatedHost}}
	}
	p.instances = map[string]*instance{}
	for i, ic := range p.cfg.Instances {
		key := fmt.Sprintf("plugins.gitlab.config.instances[%d]", i)
		h := strings.ToLower(ic.Host)
		if _, dup := p.instances[h]; dup {
			return plugin.Errorf(plugin.ErrInvalid, "%s.host: %s is configured twice", key, ic.Host)
		}
		cc := client.Config{Host: ic.Host, BaseURL: ic.APIBaseURL, Token: ic.Token, RequestsPerSecond: ic.RequestsPerSecond,
			Burst: ic.Burst, MaxRetries: ic.MaxRetries, Transport: p.opts.Transport}
		var err error
		if cc.Timeout, err = duration(ic.Timeout, key+".timeout"); err != nil {
			return err
		}
		if cc.MaxRetryWait, err = duration(ic.MaxRetryWait, key+".maxRetryWait"); err != nil {
			return err
		}
		if cc.BreakerCooldown, err = duration(ic.BreakerCooldown, key+".breakerCooldown"); err != nil {
			return err
		}
		cc.BreakerThreshold = ic.BreakerThreshold
		if p.sim != nil && ic.Host == SimulatedHost {
			ic.Simulated = true
			cc.BaseURL = "http://" + SimulatedHost
			cc.Transport = handlerTransport{p.sim}
		}
		c, err := client.New(cc)
		if err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "%s: %v", key, err)
		}
		web := c.BaseURL
		if ic.Simulated {
			web = p.sim.WebURL
		}
		p.instances[h] = &instance{cfg: ic, client: c, web: web}
		p.cfg.Instances[i] = ic
	}
	for i, d := range p.cfg.Discovery {
		key := fmt.Sprintf("plugins.gitlab.config.discovery[%d]", i)
		if _, ok := p.instances[strings.ToLower(d.Host)]; !ok {
			return plugin.Errorf(plugin.ErrInvalid, "%s.host: %s is not one of the configured instances (%s)", key, d.Host, strings.Join(p.hosts(), ", "))
		}
		if _, err := duration(d.RefreshInterval, key+".refreshInterval"); err != nil {
			return err
		}
	}
	p.provider = &Provider{p: p}
	return nil
}

func duration(s, key string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, plugin.Errorf(plugin.ErrInvalid, "%s: %q is not a positive duration such as 30s or 5m", key, s)
	}
	return d, nil
}

// Validate checks that every real instance has a token.
func (p *Plugin) Validate(context.Context) error {
	for i, ic := range p.cfg.Instances {
		if !ic.Simulated && ic.Token == "" {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.gitlab.config.instances[%d].token: instance %s has no token; set it from a secret (${env:GITLAB_TOKEN})", i, ic.Host)
		}
	}
	if len(p.cfg.Discovery) > 0 && p.cfg.WebhookToken == "" {
		p.log.Info("gitlab: no webhookToken: discovery refreshes on its schedule only; push webhooks are refused")
	}
	return nil
}

func (p *Plugin) Components() plugin.Components {
	c := plugin.Components{
		Actions: []plugin.Action{p.publishAction(), p.mergeRequestAction(), p.groupAction(), p.variableAction()},
	}
	if len(p.instances) > 0 {
		c.Cards = []plugin.EntityCard{&Card{p: p}}
	}
	if len(p.cfg.Discovery) > 0 {
		c.Providers = []plugin.EntityProvider{p.provider}
		c.Subscribers = []plugin.EventSubscriber{&PushSubscriber{p: p}}
	}
	return c
}

func (p *Plugin) Cleanup(context.Context) error { return nil }

// hosts lists the configured hosts, sorted.
func (p *Plugin) hosts() []string {
	var out []string
	for _, in := range p.instances {
		out = append(out, in.cfg.Host)
	}
	slices.Sort(out)
	return out
}

// instance returns the instance of host, or an error naming the
// configured ones.
func (p *Plugin) instance(host string) (*instance, error) {
	if in, ok := p.instances[strings.ToLower(host)]; ok {
		return in, nil
	}
	if len(p.instances) == 0 {
		return nil, plugin.Errorf(plugin.ErrInvalid, "no GitLab instance is configured (plugins.gitlab.config.instances); %s cannot be used", host)
	}
	return nil, plugin.Errorf(plugin.ErrInvalid, "%s is not a configured GitLab instance (configured: %s)", host, strings.Join(p.hosts(), ", "))
}

// SecretValues are the configured tokens, for Atrium to redact from its
// logs (also when given literally rather than as a secret reference).
func (p *Plugin) SecretValues() []string {
	var out []string
	for _, ic := range p.cfg.Instances {
		if ic.Token != "" {
			out = append(out, ic.Token)
		}
	}
	if p.cfg.WebhookToken != "" {
		out = append(out, p.cfg.WebhookToken)
	}
	return out
}

// Simulator is the demo's simulated GitLab, which Atrium serves at
// /sim/gitlab/ (behind its login); nil when there is none.
func (p *Plugin) Simulator() http.Handler {
	if p.sim == nil {
		return nil
	}
	return http.StripPrefix("/sim/gitlab", p.sim)
}

// Simulated reports whether host is served by the simulator.
func (p *Plugin) Simulated(host string) bool {
	in, ok := p.instances[strings.ToLower(host)]
	return ok && in.cfg.Simulated
}

// handlerTransport sends requests to an in-process handler: the demo's
// simulator, reached by the real client without a network round trip.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := newRecorder()
	if req.Body == nil {
		req.Body = http.NoBody
	}
	t.h.ServeHTTP(rec, req)
	return rec.result(req), nil
}

// webURL is the browser URL of path on instance in.
func (in *instance) webURL(path string) string {
	return in.web + "/" + strings.TrimPrefix(path, "/")
}

// instanceForURL finds the instance whose web URL target starts with,
// and returns the rest of target's path.
func (p *Plugin) instanceForURL(target string) (*instance, string, bool) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, "", false
	}
	for _, in := range p.instances {
		w, err := url.Parse(in.web)
		if err != nil || !strings.EqualFold(w.Host, u.Host) {
			continue
		}
		prefix := strings.TrimSuffix(w.Path, "/") + "/"
		if strings.HasPrefix(u.Path, prefix) {
			return in, strings.TrimPrefix(u.Path, prefix), true
		}
	}
	return nil, "", false
}
