package terraform_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/tfc/tfcsim"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins"
	"github.com/atrium-portal/atrium/plugins/terraform"
)

const token = "tfc-plugin-token-0123456789"

const mainTF = `resource "terraform_data" "db" {}

output "db_host" {
  value = "db.internal"
}

output "db_password" {
  value     = "hunter2"
  sensitive = true
}
`

func setup(t *testing.T) (*terraform.Plugin, *tfcsim.Sim) {
	t.Helper()
	sim := tfcsim.New(token, "example")
	sim.Step = 20 * time.Millisecond
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.Base = srv.URL
	p := terraform.New(terraform.Options{})
	plugintest.Provision(t, p, map[string]any{"address": srv.URL, "token": token, "organization": "example", "pollInterval": "10ms"})
	return p, sim
}

// run runs an action with files in its workspace.
func run(t *testing.T, p plugin.Plugin, action string, input map[string]any, files map[string]string) plugintest.ActionResult {
	t.Helper()
	dir := t.TempDir()
	for n, c := range files {
		path := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return plugintest.RunActionRequest(t, p, action, plugin.ActionRequest{TaskID: "task-" + t.Name(), Input: input, Workspace: dir})
}

func TestGoldenPath(t *testing.T) {
	p, sim := setup(t)
	res := run(t, p, "terraform:workspace:ensure", map[string]any{"name": "payments-db", "tags": []any{"atrium", "billing"}, "autoApply": false,
		"workingDirectory": "infra", "executionMode": "remote"}, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Outputs["created"] != true || !strings.HasPrefix(res.Outputs["workspaceId"].(string), "ws-") {
		t.Errorf("ensure outputs = %v", res.Outputs)
	}
	res = run(t, p, "terraform:variables:set", map[string]any{"workspace": "payments-db", "variables": []any{
		map[string]any{"key": "region", "value": "westeurope"},
		map[string]any{"key": "ARM_CLIENT_SECRET", "value": "s3cr3t-value", "category": "env", "sensitive": true},
	}}, nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	logs := strings.Join(res.Logs, "\n")
	if strings.Contains(logs, "s3cr3t-value") || strings.Contains(logs, "westeurope") {
		t.Errorf("a value is in the log:\n%s", logs)
	}
	if !strings.Contains(logs, "created ARM_CLIENT_SECRET (env, sensitive)") {
		t.Errorf("log:\n%s", logs)
	}
	if v := sim.Variable("example", "payments-db", "ARM_CLIENT_SECRET"); v == nil || !v.Sensitive || v.Value != "s3cr3t-value" {
		t.Errorf("variable = %+v", v)
	}
	res = run(t, p, "terraform:run", map[string]any{"workspace": "payments-db", "directory": "infra", "apply": true},
		map[string]string{"infra/main.tf": mainTF, "README.md": "not uploaded"})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Outputs["status"] != "applied" {
		t.Errorf("status = %v", res.Outputs["status"])
	}
	outs, _ := res.Outputs["outputs"].(map[string]any)
	if outs["db_host"] != "db.internal" || outs["db_password"] != "(sensitive)" {
		t.Errorf("outputs = %v", outs)
	}
	files := sim.Files(res.Outputs["runId"].(string))
	if _, ok := files["main.tf"]; !ok || len(files) != 1 {
		t.Errorf("uploaded files = %v, want the infra folder only", files)
	}
	logs = strings.Join(res.Logs, "\n")
	for _, want := range []string{"is planning", "plan: 1 to add", "is applied", "applied; 2 outputs"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "hunter2") {
		t.Error("a sensitive output is in the log")
	}

	// The card: the run and the outputs, the sensitive one masked.
	v, err := plugintest.RenderCard(t, p, "runs", map[string]any{"kind": "Component", "metadata": map[string]any{"name": "payments",
		"annotations": map[string]any{"terraform.io/workspace": "example/payments-db"}}})
	if err != nil {
		t.Fatal(err)
	}
	var badges []string
	kv := map[string]string{}
	for _, b := range v.Blocks {
		for _, bd := range b.Badges {
			badges = append(badges, string(bd.Status))
		}
		for _, x := range b.KeyValues {
			kv[x.Key] = x.Value
		}
	}
	if strings.Join(badges, ",") != "ok" || kv["output db_host"] != "db.internal" || !strings.Contains(kv["output db_password"], "sensitive") || strings.Contains(kv["output db_password"], "hunter2") {
		t.Errorf("card: badges %v, kv %v", badges, kv)
	}
}

func TestRunErrors(t *testing.T) {
	p, _ := setup(t)
	if res := run(t, p, "terraform:workspace:ensure", map[string]any{"name": "w"}, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, tt := range []struct {
		name  string
		input map[string]any
		files map[string]string
		kind  plugin.ErrorKind
		want  string
	}{
		{"waits for confirmation", map[string]any{"workspace": "w"}, map[string]string{"main.tf": mainTF}, plugin.ErrConflict, "waits for a confirmation"},
		{"policy", map[string]any{"workspace": "w", "apply": true}, map[string]string{"main.tf": "# sim:policy-fail\n" + mainTF}, plugin.ErrConflict, "ended policy_soft_failed (a policy check failed"},
		{"plan error", map[string]any{"workspace": "w", "apply": true}, map[string]string{"main.tf": "# sim:plan-error\n"}, plugin.ErrConflict, "ended errored"},
		{"escape", map[string]any{"workspace": "w", "directory": "../x"}, nil, plugin.ErrInvalid, "must be a relative path inside"},
		{"not a folder", map[string]any{"workspace": "w", "directory": "nope"}, nil, plugin.ErrInvalid, `"nope" is not a folder`},
		{"unknown workspace", map[string]any{"workspace": "missing"}, nil, plugin.ErrNotFound, "input.workspace"},
		{"timeout over limit", map[string]any{"workspace": "w", "timeout": "5h"}, nil, plugin.ErrInvalid, "maxRunTimeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, p, "terraform:run", tt.input, tt.files)
			if res.Err == nil || plugin.KindOf(res.Err) != tt.kind || !strings.Contains(res.Err.Error(), tt.want) {
				t.Errorf("err = %v (%s), want %s with %q", res.Err, plugin.KindOf(res.Err), tt.kind, tt.want)
			}
		})
	}
}

func TestRunTimeoutCancels(t *testing.T) {
	p, sim := setup(t)
	sim.Step = time.Minute
	if res := run(t, p, "terraform:workspace:ensure", map[string]any{"name": "slow", "autoApply": true}, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	res := run(t, p, "terraform:run", map[string]any{"workspace": "slow", "timeout": "300ms"}, map[string]string{"main.tf": mainTF})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "did not finish within 300ms") || !strings.Contains(res.Err.Error(), "was cancelled") {
		t.Fatalf("err = %v", res.Err)
	}
}

func TestVariablesDuplicate(t *testing.T) {
	p, _ := setup(t)
	run(t, p, "terraform:workspace:ensure", map[string]any{"name": "d"}, nil)
	res := run(t, p, "terraform:variables:set", map[string]any{"workspace": "d", "variables": []any{
		map[string]any{"key": "a", "value": "1"}, map[string]any{"key": "a", "value": "2"}}}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "input.variables[1].key: a (terraform) is also variables[0]") {
		t.Errorf("err = %v", res.Err)
	}
}

func TestNotConfigured(t *testing.T) {
	p := terraform.New(terraform.Options{})
	plugintest.Provision(t, p, nil)
	res := run(t, p, "terraform:workspace:ensure", map[string]any{"name": "x"}, nil)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "set plugins.terraform.config.address") {
		t.Errorf("err = %v", res.Err)
	}
}

func TestDemoSimulator(t *testing.T) {
	p := terraform.New(terraform.Options{Demo: true})
	plugintest.Provision(t, p, map[string]any{"pollInterval": "20ms"})
	if !p.Simulated() || p.Simulator() == nil {
		t.Fatal("not simulated")
	}
	if res := run(t, p, "terraform:workspace:ensure", map[string]any{"name": "demo", "autoApply": true}, nil); res.Err != nil {
		t.Fatal(res.Err)
	}
	res := run(t, p, "terraform:run", map[string]any{"workspace": "demo"}, map[string]string{"main.tf": mainTF})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if u := res.Outputs["url"].(string); !strings.Contains(u, "/sim/terraform/api/v2/runs/run-") {
		t.Errorf("url = %s", u)
	}
}

func TestSecretValues(t *testing.T) {
	p, _ := setup(t)
	if got := p.SecretValues(); len(got) != 1 || got[0] != token {
		t.Errorf("SecretValues = %v", got)
	}
}

func TestConfigSchema(t *testing.T) {
	info := terraform.New(terraform.Options{}).Info()
	for _, tt := range []struct{ config, want string }{
		{`{"address": "https://app.terraform.io", "token": "t", "organization": "northwind", "maxRetries": 2}`, ""},
		{`{"pollInterval": "often"}`, "plugins.terraform.config.pollInterval"},
		{`{"address": "app.terraform.io"}`, "plugins.terraform.config.address"},
		{`{"organization": "no spaces"}`, "plugins.terraform.config.organization"},
		{`{"workspace": "x"}`, "workspace"},
	} {
		err := plugins.ValidateConfig(info, json.RawMessage(tt.config))
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.config, err, tt.want)
		}
	}
}
