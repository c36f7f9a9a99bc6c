package app_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestDeployMonitoringSeriesExist checks that every series the Grafana
// dashboard and the Prometheus alert rules in deploy/ query is one Atrium
// exports, so that a renamed metric cannot leave a dashboard or an alert
// silently empty.
func TestDeployMonitoringSeriesExist(t *testing.T) {
	srv := apptest.StartServer(t, "")
	reg, ok := srv.App.Metrics().Gatherer().(prometheus.Collector)
	if !ok {
		t.Fatal("the metrics registry does not describe its collectors")
	}
	ch := make(chan *prometheus.Desc, 64)
	go func() { reg.Describe(ch); close(ch) }()
	exported := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			exported[m[1]] = true
		}
	}

	var exprs []string
	dash, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "atrium-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"expr":\s*"((?:[^"\\]|\\.)*)"`).FindAllStringSubmatch(string(dash), -1) {
		exprs = append(exprs, m[1])
	}
	if len(exprs) < 10 {
		t.Fatalf("found only %d queries in the dashboard", len(exprs))
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "atrium-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("atrium-alerts.yaml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || strings.TrimSpace(r.Expr) == "" {
				t.Errorf("a rule without a name or an expression: %+v", r)
			}
			exprs = append(exprs, r.Expr)
		}
	}

	series := regexp.MustCompile(`\b((?:atrium|process|go)_[a-z_]+)\b`)
	missing := map[string]bool{}
	for _, e := range exprs {
		for _, m := range series.FindAllStringSubmatch(e, -1) {
			name := m[1]
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && exported[base] {
					name = base
				}
			}
			if !exported[name] {
				missing[name] = true
			}
		}
	}
	if len(missing) > 0 {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Errorf("deploy/ queries series Atrium does not export: %s", strings.Join(names, ", "))
	}
}
