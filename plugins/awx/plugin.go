// Package awx is the built-in Ansible Automation Controller / AWX plugin:
// the action awx:job:launch (launch a job or workflow job template and
// follow it, streaming its output into the task log), an entity provider
// importing job templates as Resource entities (day-2 actions of the
// entities they are labelled for) and the "Ansible jobs" entity card. The
// client is internal/integrations/awx; in demo mode without a url the
// plugin uses the simulator (internal/integrations/awx/awxsim), served
// at /sim/awx/.
package awx

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/awx"
	"github.com/atrium-portal/atrium/internal/integrations/awx/awxsim"
	"github.com/atrium-portal/atrium/plugin"
)

// ID is the plugin's id (plugins.awx in app-config).
const ID = "awx"

// SimPath is where Atrium serves the simulator in demo mode.
const SimPath = "/sim/awx"

//go:embed config.schema.json
var configSchema []byte

// Config is plugins.awx.config.
type Config struct {
	URL              string `json:"url"`
	APIPrefix        string `json:"apiPrefix"`
	Token            string `json:"token"`
	Timeout          string `json:"timeout"`
	MaxRetries       int    `json:"maxRetries"`
	MaxRetryWait     string `json:"maxRetryWait"`
	BreakerThreshold int    `json:"breakerThreshold"`
	BreakerCooldown  string `json:"breakerCooldown"`
	PollInterval     string `json:"pollInterval"`
	FollowRetries    int    `json:"followRetries"`
	FollowRetryMax   string `json:"followRetryMaxWait"`
	MaxJobTimeout    string `json:"maxJobTimeout"`
	Owner            string `json:"owner"`
	Refresh          string `json:"refresh"`
	ImportTemplates  *bool  `json:"importTemplates"`
	RecentJobs       int    `json:"recentJobs"`
}

// Options are what Atrium hands the built-in besides its configuration.
type Options struct {
	// Demo is atrium.demo: without a url, the simulator is used.
	Demo bool
	// Transport does the requests to a real controller (nil: default).
	Transport http.RoundTripper
}

// Plugin is the AWX plugin.
type Plugin struct {
	opts Options
	cfg  Config
	log  *slog.Logger

	client    *awx.Client
	sim       *awxsim.Sim
	simulated bool
	// webBase is where links point: the controller, or Atrium's /sim/awx.
	webBase       string
	poll          time.Duration
	maxJobTimeout time.Duration
	refresh       time.Duration
	ops           plugin.OperationKind
	retry         plugin.Retry
}

var _ plugin.Plugin = (*Plugin)(nil)

// New returns the plugin; Provision configures it.
func New(opts Options) *Plugin { return &Plugin{opts: opts} }

func (p *Plugin) Info() plugin.Info {
	return plugin.Info{
		ID:           ID,
		Version:      "1.0.0",
		APIVersions:  ">=1.0.0 <2.0.0",
		Description:  "Ansible Automation Controller / AWX: the awx:job:launch action, job templates in the catalog and the Ansible jobs card.",
		ConfigSchema: configSchema,
		Permissions:  []string{"scaffolder.action.execute", "catalog.entity.read"},
	}
}

// durationOr reads a duration of the plugin's configuration.
func durationOr(s, key string, def time.Duration) (time.Duration, error) {
	return plugin.ConfigDuration(ID, key, s, def)
}

func (p *Plugin) Provision(ctx context.Context, host plugin.Host, raw json.RawMessage) error {
	p.log = host.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.cfg = Config{}
	if host.DataDir != "" {
		p.ops = plugin.OperationKind{System: func() string { return plugin.SystemName("awx", p.webBase) }, Kind: "job"}
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p.cfg); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "plugins.awx.config: %v", err)
		}
	}
	if p.cfg.Owner == "" {
		p.cfg.Owner = "group:default/platform-team"
	}
	if p.cfg.RecentJobs <= 0 {
		p.cfg.RecentJobs = 10
	}
	cc := awx.Config{BaseURL: p.cfg.URL, APIPrefix: p.cfg.APIPrefix, Token: p.cfg.Token, MaxRetries: p.cfg.MaxRetries, Transport: p.opts.Transport}
	var err error
	if cc.Timeout, err = durationOr(p.cfg.Timeout, "timeout", 30*time.Second); err != nil {
		return err
	}
	if cc.MaxRetryWait, err = durationOr(p.cfg.MaxRetryWait, "maxRetryWait", time.Minute); err != nil {
		return err
	}
	cc.BreakerThreshold = p.cfg.BreakerThreshold
	if cc.BreakerCooldown, err = durationOr(p.cfg.BreakerCooldown, "breakerCooldown", 30*time.Second); err != nil {
		return err
	}
	if p.poll, err = durationOr(p.cfg.PollInterval, "pollInterval", 2*time.Second); err != nil {
		return err
	}
	p.retry = plugin.Retry{Attempts: p.cfg.FollowRetries}
	if p.retry.Max, err = durationOr(p.cfg.FollowRetryMax, "followRetryMaxWait", time.Minute); err != nil {
		return err
	}
	if p.maxJobTimeout, err = durationOr(p.cfg.MaxJobTimeout, "maxJobTimeout", 2*time.Hour); err != nil {
		return err
	}
	if p.refresh, err = durationOr(p.cfg.Refresh, "refresh", 5*time.Minute); err != nil {
		return err
	}
	p.simulated = p.cfg.URL == "" && p.opts.Demo
	if p.simulated {
		p.sim = awxsim.New("")
		base := strings.TrimSuffix(host.BaseURL, "/")
		if base == "" {
			base = "http://atrium.invalid"
		}
		p.webBase = base + SimPath
		cc.BaseURL = p.webBase
		cc.Token = ""
		cc.Transport = handlerTransport{p.Simulator()}
		if p.poll == 2*time.Second && p.cfg.PollInterval == "" {
			p.poll = 100 * time.Millisecond
		}
	}
	if cc.BaseURL == "" {
		// Validate explains; Provision succeeds so the status shows why.
		return nil
	}
	if p.client, err = awx.New(cc); err != nil {
		return plugin.Errorf(plugin.ErrInvalid, "plugins.awx.config.%v", err)
	}
	if !p.simulated {
		p.webBase = p.client.BaseURL()
	}
	return nil
}

// Validate checks that a controller is configured with a token.
func (p *Plugin) Validate(context.Context) error {
	if p.client == nil {
		p.log.Info("awx: no controller configured (plugins.awx.config.url); awx:job:launch fails until one is")
		return nil
	}
	if !p.simulated && p.cfg.Token == "" {
		return plugin.Errorf(plugin.ErrInvalid, "plugins.awx.config.token: the controller %s has no token; set it from a secret (${env:AWX_TOKEN})", p.cfg.URL)
	}
	return nil
}

func (p *Plugin) Components() plugin.Components {
	c := plugin.Components{
		Actions: []plugin.Action{&LaunchAction{p: p}},
		Cards:   []plugin.EntityCard{&Card{p: p}},
	}
	if p.client != nil && (p.cfg.ImportTemplates == nil || *p.cfg.ImportTemplates) {
		c.Providers = []plugin.EntityProvider{&Provider{p: p}}
	}
	return c
}

func (p *Plugin) Cleanup(context.Context) error { return nil }

// ready returns the client, or an error saying what to configure.
func (p *Plugin) ready() (*awx.Client, error) {
	if p.client == nil {
		return nil, plugin.Errorf(plugin.ErrUnavailable, "no AWX controller is configured: set plugins.awx.config.url and token")
	}
	return p.client, nil
}

// Simulator is the demo's simulated controller, served by Atrium at
// /sim/awx/ (nil when a real controller is configured).
func (p *Plugin) Simulator() http.Handler {
	if p.sim == nil {
		return nil
	}
	return http.StripPrefix(SimPath, p.sim)
}

// Simulated reports whether the plugin talks to its simulator.
func (p *Plugin) Simulated() bool { return p.simulated }

// Client is the plugin's controller client (nil before Provision).
func (p *Plugin) Client() *awx.Client { return p.client }

// jobURL is where a user sees job j.
func (p *Plugin) jobURL(j awx.Job) string {
	if p.simulated {
		path := "jobs"
		if j.Workflow() {
			path = "workflow_jobs"
		}
		return fmt.Sprintf("%s/api/v2/%s/%d/", p.webBase, path, j.ID)
	}
	return p.client.WebURL(j.Type, j.ID)
}

// templateURL is where a user sees template t.
func (p *Plugin) templateURL(t awx.Template) string {
	if p.simulated {
		return fmt.Sprintf("%s/api/v2/%ss/%d/", p.webBase, t.Type, t.ID)
	}
	return p.client.WebURL(t.Type, t.ID)
}

// handlerTransport sends requests to an in-process handler: the demo's
// simulator, reached by the real client without a network round trip.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	return res, nil
}

// SecretValues is the configured token, for Atrium to redact from its
// logs (also when given literally rather than as a secret reference).
func (p *Plugin) SecretValues() []string {
	if p.cfg.Token == "" {
		return nil
	}
	return []string{p.cfg.Token}
}
