package awx_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/awx/awxsim"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins"
	"github.com/atrium-portal/atrium/plugins/awx"
)

const token = "awx-test-token-0123456789"

// setup returns the plugin provisioned against a simulator on 127.0.0.1.
func setup(t *testing.T) (*awx.Plugin, *awxsim.Sim) {
	t.Helper()
	sim := awxsim.New(token)
	sim.Pending, sim.Running = 30*time.Millisecond, 80*time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	p := awx.New(awx.Options{})
	plugintest.Provision(t, p, map[string]any{"url": srv.URL, "token": token, "pollInterval": "20ms", "owner": "group:default/ops"})
	return p, sim
}

func TestLaunchAction(t *testing.T) {
	p, sim := setup(t)
	res := plugintest.RunAction(t, p, "awx:job:launch", map[string]any{
		"jobTemplate": "Configure monitoring", "extraVars": map[string]any{"service": "payment-service"}, "limit": "web1", "inventory": "production"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Outputs["status"]; got != "successful" {
		t.Errorf("status = %v", got)
	}
	id, _ := res.Outputs["jobId"].(float64)
	if id == 0 || !strings.HasSuffix(res.Outputs["url"].(string), fmt.Sprintf("/#/jobs/playbook/%d/output", int(id))) {
		t.Errorf("outputs = %v", res.Outputs)
	}
	logs := strings.Join(res.Logs, "\n")
	for _, want := range []string{`Job template "Configure monitoring" (id 7)`, "extra vars: service", "changed: [web1]", "PLAY RECAP", "successful in"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if sim.LastVars()["service"] != "payment-service" {
		t.Errorf("extra vars = %v", sim.LastVars())
	}
}

func TestLaunchActionErrors(t *testing.T) {
	p, _ := setup(t)
	for _, tt := range []struct {
		name  string
		input map[string]any
		kind  plugin.ErrorKind
		want  string
	}{
		{"unknown template", map[string]any{"jobTemplate": "nope"}, plugin.ErrNotFound, `no job template is named "nope"`},
		{"ignored fields", map[string]any{"jobTemplate": "Patch hosts", "limit": "db*"}, plugin.ErrInvalid, `template "Patch hosts" does not prompt for limit on launch`},
		{"failed job", map[string]any{"jobTemplate": 7, "extraVars": map[string]any{"fail": true}}, plugin.ErrConflict, "ended failed"},
		{"unknown inventory", map[string]any{"jobTemplate": 7, "inventory": "moon"}, plugin.ErrNotFound, `no inventory is named "moon"`},
		{"timeout over limit", map[string]any{"jobTemplate": 7, "timeout": "9h"}, plugin.ErrInvalid, "over the limit of 2h0m0s (plugins.awx.config.maxJobTimeout)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := plugintest.RunAction(t, p, "awx:job:launch", tt.input)
			if res.Err == nil || plugin.KindOf(res.Err) != tt.kind || !strings.Contains(res.Err.Error(), tt.want) {
				t.Errorf("err = %v (kind %s), want %s containing %q", res.Err, plugin.KindOf(res.Err), tt.kind, tt.want)
			}
		})
	}
}

func TestLaunchTimeoutCancels(t *testing.T) {
	p, sim := setup(t)
	sim.Running = time.Minute
	res := plugintest.RunAction(t, p, "awx:job:launch", map[string]any{"jobTemplate": "Restart service", "timeout": "200ms"})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "did not finish within 200ms") {
		t.Fatalf("err = %v", res.Err)
	}
	id, _ := res.Outputs["jobId"].(float64)
	if !sim.Canceled(int(id)) {
		t.Errorf("job %v not cancelled", id)
	}
}

func TestWorkflowLaunch(t *testing.T) {
	p, _ := setup(t)
	res := plugintest.RunAction(t, p, "awx:job:launch", map[string]any{"jobTemplate": "Onboard service", "workflow": true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !strings.Contains(strings.Join(res.Logs, "\n"), `"Restart service" is successful`) {
		t.Errorf("logs = %v", res.Logs)
	}
	if !strings.Contains(res.Outputs["url"].(string), "/#/jobs/workflow/") {
		t.Errorf("url = %v", res.Outputs["url"])
	}
}

func TestProvider(t *testing.T) {
	p, _ := setup(t)
	ms := plugintest.Mutations(t, p, "job-templates", 1, 5*time.Second)
	if len(ms) != 1 || ms[0].Type != plugin.MutationFull || len(ms[0].Entities) != 4 {
		t.Fatalf("mutations = %+v", ms)
	}
	var e struct {
		Kind     string
		Metadata struct {
			Name        string
			Title       string
			Annotations map[string]string
		}
		Spec struct {
			Type         string
			Owner        string
			DependencyOf []string
		}
	}
	for _, raw := range ms[0].Entities {
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if e.Metadata.Title == "Configure monitoring" {
			break
		}
	}
	if e.Kind != "Resource" || e.Metadata.Name != "awx-jt-7-configure-monitoring" || e.Spec.Type != "ansible-job-template" || e.Spec.Owner != "group:default/ops" {
		t.Errorf("entity = %+v", e)
	}
	if got := strings.Join(e.Spec.DependencyOf, " "); got != "component:default/payment-service component:default/invoice-service" {
		t.Errorf("dependencyOf = %s", got)
	}
	if e.Metadata.Annotations["ansible.com/job-template"] != "7" || !strings.HasPrefix(e.Metadata.Annotations["backstage.io/managed-by-location"], "url:http://127.0.0.1") {
		t.Errorf("annotations = %v", e.Metadata.Annotations)
	}
}

func TestCard(t *testing.T) {
	p, _ := setup(t)
	for range 2 {
		if res := plugintest.RunAction(t, p, "awx:job:launch", map[string]any{"jobTemplate": "Restart service"}); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if res := plugintest.RunAction(t, p, "awx:job:launch", map[string]any{"jobTemplate": "Restart service", "extraVars": map[string]any{"fail": true}}); res.Err == nil {
		t.Fatal("want a failed job")
	}
	entity := map[string]any{"kind": "Component", "metadata": map[string]any{"name": "payment-service",
		"annotations": map[string]any{"ansible.com/job-template": "Restart service, nope"}}}
	v, err := plugintest.RenderCard(t, p, "jobs", entity)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []string
	var rows int
	var missing string
	for _, b := range v.Blocks {
		for _, bd := range b.Badges {
			statuses = append(statuses, string(bd.Status))
		}
		if b.Table != nil {
			rows += len(b.Table.Rows)
		}
		for _, kv := range b.KeyValues {
			if kv.Key == "nope" {
				missing = kv.Value
			}
		}
	}
	if got := strings.Join(statuses, ","); got != "error,ok,ok" {
		t.Errorf("badges = %s, want newest first error,ok,ok", got)
	}
	if rows != 3 {
		t.Errorf("rows = %d", rows)
	}
	if !strings.Contains(missing, `no job template is named "nope"`) {
		t.Errorf("missing template shown as %q", missing)
	}
}

func TestValidateNeedsToken(t *testing.T) {
	p := awx.New(awx.Options{})
	host := plugin.Host{BaseURL: "http://atrium.test", DataDir: t.TempDir()}
	if err := p.Provision(t.Context(), host, json.RawMessage(`{"url":"https://awx.example.com"}`)); err != nil {
		t.Fatal(err)
	}
	err := p.Validate(t.Context())
	if err == nil || !strings.Contains(err.Error(), "plugins.awx.config.token") {
		t.Errorf("err = %v", err)
	}
}

func TestDemoSimulator(t *testing.T) {
	p := awx.New(awx.Options{Demo: true})
	plugintest.Provision(t, p, nil)
	if !p.Simulated() || p.Simulator() == nil {
		t.Fatal("not simulated in demo mode without url")
	}
	res := plugintest.RunAction(t, p, "awx:job:launch", map[string]any{"jobTemplate": "Configure monitoring"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if u := res.Outputs["url"].(string); !strings.Contains(u, "/sim/awx/api/v2/jobs/") {
		t.Errorf("url = %s", u)
	}
	if !strings.Contains(strings.Join(res.Logs, "\n"), "(simulated AWX)") {
		t.Errorf("logs do not say simulated: %v", res.Logs)
	}
}

func TestSecretValues(t *testing.T) {
	p, _ := setup(t)
	if got := p.SecretValues(); len(got) != 1 || got[0] != token {
		t.Errorf("SecretValues = %v", got)
	}
}

func TestConfigSchema(t *testing.T) {
	info := awx.New(awx.Options{}).Info()
	for _, tt := range []struct{ config, want string }{
		{`{"url": "https://awx.example.com", "token": "t", "timeout": "30s", "breakerThreshold": 3}`, ""},
		{`{"timeout": "soon"}`, "plugins.awx.config.timeout"},
		{`{"url": "awx.example.com"}`, "plugins.awx.config.url"},
		{`{"colour": "blue"}`, "colour"},
		{`{"recentJobs": 0}`, "plugins.awx.config.recentJobs"},
	} {
		err := plugins.ValidateConfig(info, json.RawMessage(tt.config))
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.config, err, tt.want)
		}
	}
}
