package azure_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

const costSub = "11111111-2222-3333-4444-555555555555"

// costCatalog: org has the sub-team ops; payments maps by annotation,
// checkout and search by the idp-component tag; shop holds payments and
// checkout; search has no system.
const costCatalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: org }
spec: { type: department, children: [ops] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: ops }
spec: { type: team, parent: org, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: web }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: { name: shop }
spec: { owner: org }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  annotations: { azure.com/resource-group: sim/rg-payments }
spec: { type: service, lifecycle: production, owner: ops, system: shop }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: checkout }
spec: { type: service, lifecycle: production, owner: web, system: shop }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: search, tags: [secret] }
spec: { type: service, lifecycle: production, owner: ops }
`

// startCosts starts Atrium with a simulated subscription and seeds it
// over HTTP, through /sim/azure/, with groups and deployments: what the
// FinOps view then attributes.
func startCosts(t *testing.T, extra string) (*apptest.Server, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(costCatalog), 0o644); err != nil {
		t.Fatal(err)
	}
	s := apptest.StartServer(t, fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, System, User, Location] }]
  locations: [{ type: file, target: %q }]
plugins:
  azure:
    config:
      subscriptions:
        - { name: sim, subscriptionId: %s, simulated: true }
      simulationStep: 5ms
      costMonths: 4
`+extra, filepath.Join(dir, "catalog.yaml"), costSub))
	token := s.Token(t, "user:default/guest")
	arm := func(method, path string, body any, want int) []byte {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, s.BaseURL+"/sim/azure/subscriptions/"+costSub+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: got %d %s, want %d", method, path, res.StatusCode, out, want)
		}
		return out
	}
	for _, g := range []struct {
		name string
		tags map[string]string
		res  []string
	}{
		{"rg-payments", map[string]string{"cost-center": "cc-1"}, []string{"Microsoft.Web/sites", "Microsoft.DBforPostgreSQL/flexibleServers"}},
		{"rg-checkout", map[string]string{"idp-component": "checkout"}, []string{"Microsoft.Web/sites"}},
		{"rg-search", map[string]string{"idp-component": "search"}, []string{"Microsoft.Search/searchServices"}},
		{"rg-hub", nil, []string{"Microsoft.Network/virtualNetworks"}},
		{"rg-orphan", map[string]string{"idp-component": "nobody"}, []string{"Microsoft.Storage/storageAccounts"}},
	} {
		arm("PUT", "/resourcegroups/"+g.name+"?api-version=2024-03-01", map[string]any{"location": "westeurope", "tags": g.tags}, 201)
		var resources []any
		for i, typ := range g.res {
			resources = append(resources, map[string]any{"type": typ, "name": fmt.Sprintf("%s-%d", g.name, i)})
		}
		path := "/resourcegroups/" + g.name + "/providers/Microsoft.Resources/deployments/seed?api-version=2025-04-01"
		arm("PUT", path, map[string]any{"properties": map[string]any{"mode": "Incremental", "template": map[string]any{"resources": resources}}}, 201)
		for deadline := time.Now().Add(10 * time.Second); ; {
			var d struct {
				Properties struct{ ProvisioningState string } `json:"properties"`
			}
			_ = json.Unmarshal(arm("GET", path, nil, 200), &d)
			if d.Properties.ProvisioningState == "Succeeded" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deployment in %s: %s", g.name, d.Properties.ProvisioningState)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return s, token
}

type costSeries struct {
	Costs         []float64 `json:"costs"`
	ThisMonth     float64   `json:"thisMonth"`
	LastMonth     float64   `json:"lastMonth"`
	ChangePercent *float64  `json:"changePercent"`
}

type costRow struct {
	Ref        string   `json:"ref"`
	Kind       string   `json:"kind"`
	Components []string `json:"components"`
	costSeries
}

type costReport struct {
	GroupBy      string     `json:"groupBy"`
	Currency     string     `json:"currency"`
	Months       []string   `json:"months"`
	Rows         []costRow  `json:"rows"`
	Unattributed costSeries `json:"unattributed"`
	Total        costSeries `json:"total"`
	Simulated    bool       `json:"simulated"`
}

func (r costReport) row(t *testing.T, ref string) costRow {
	t.Helper()
	for _, x := range r.Rows {
		if x.Ref == ref {
			return x
		}
	}
	t.Fatalf("%s: no row %s in %+v", r.GroupBy, ref, r.Rows)
	return costRow{}
}

func sum(t *testing.T, what string, got []float64, parts ...[]float64) {
	t.Helper()
	for i := range got {
		want := 0.0
		for _, p := range parts {
			want += p[i]
		}
		if math.Abs(got[i]-want) > 0.005 {
			t.Errorf("%s, month %d: got %.2f, want %.2f (the sum of its parts)", what, i, got[i], want)
		}
	}
}

// TestCostsAPI reads GET /api/azure/costs grouped three ways: the
// numbers add up (teams and systems are the sums of their components,
// each counted once; components and unattributed make the total, which
// is the subscription's own total), filters narrow, bad input is refused
// naming the parameter, and the CSV export has a column per month.
func TestCostsAPI(t *testing.T) {
	s, token := startCosts(t, "")
	c := client{T: t, Base: s.BaseURL}
	get := func(q string) costReport {
		t.Helper()
		var r costReport
		c.JSON("GET", "/api/azure/costs?"+q, nil, 200, &r)
		return r
	}
	byComp := get("groupBy=component")
	if len(byComp.Months) != 4 || byComp.Months[3] != time.Now().UTC().Format("2006-01") || byComp.Currency != "EUR" || !byComp.Simulated {
		t.Errorf("report: months %v currency %q simulated %v", byComp.Months, byComp.Currency, byComp.Simulated)
	}
	pay, chk, srch := byComp.row(t, "component:default/payments"), byComp.row(t, "component:default/checkout"), byComp.row(t, "component:default/search")
	if len(byComp.Rows) != 3 {
		t.Errorf("components: got %d rows, want 3", len(byComp.Rows))
	}
	for _, r := range []costRow{pay, chk, srch} {
		if r.ThisMonth <= 0 {
			t.Errorf("%s costs nothing this month", r.Ref)
		}
	}
	if byComp.Unattributed.ThisMonth <= 0 {
		t.Error("rg-hub and rg-orphan (tagged for no component) are not unattributed")
	}
	sum(t, "total", byComp.Total.Costs, pay.Costs, chk.Costs, srch.Costs, byComp.Unattributed.Costs)

	// The subscription's own total, asked of Cost Management (the
	// simulator over HTTP) without any grouping, is the report's.
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month()-3, 1, 0, 0, 0, 0, time.UTC)
	body, _ := json.Marshal(map[string]any{"type": "ActualCost", "timeframe": "Custom",
		"timePeriod": map[string]any{"from": from.Format(time.RFC3339), "to": now.Format(time.RFC3339)},
		"dataset":    map[string]any{"granularity": "Monthly", "aggregation": map[string]any{"totalCost": map[string]any{"name": "PreTaxCost", "function": "Sum"}}}})
	req, _ := http.NewRequest("POST", s.BaseURL+"/sim/azure/subscriptions/"+costSub+"/providers/Microsoft.CostManagement/query?api-version=2025-03-01", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Properties struct {
			Columns []struct{ Name string } `json:"columns"`
			Rows    [][]any                 `json:"rows"`
		} `json:"properties"`
	}
	_ = json.NewDecoder(res.Body).Decode(&q)
	res.Body.Close()
	if len(q.Properties.Rows) != 4 || q.Properties.Columns[1].Name != "BillingMonth" {
		t.Fatalf("subscription query: %+v", q.Properties)
	}
	for i, row := range q.Properties.Rows {
		if got, want := byComp.Total.Costs[i], row[0].(float64); math.Abs(got-want) > 0.05 {
			t.Errorf("month %d: report total %.2f, subscription total %.2f", i, got, want)
		}
	}

	bySys := get("groupBy=system")
	sum(t, "system shop", bySys.row(t, "system:default/shop").Costs, pay.Costs, chk.Costs)
	if len(bySys.Rows) != 1 {
		t.Errorf("systems: got %v, want shop only", bySys.Rows)
	}

	byTeam := get("groupBy=team")
	sum(t, "team ops", byTeam.row(t, "group:default/ops").Costs, pay.Costs, srch.Costs)
	sum(t, "team web", byTeam.row(t, "group:default/web").Costs, chk.Costs)
	// org owns nothing itself: its cost is its sub-team's, not twice.
	sum(t, "team org", byTeam.row(t, "group:default/org").Costs, pay.Costs, srch.Costs)
	if got := byTeam.row(t, "group:default/org").Components; len(got) != 2 {
		t.Errorf("org's components: got %v, want payments and search", got)
	}

	opsOnly := get("groupBy=component&team=ops")
	if len(opsOnly.Rows) != 2 || opsOnly.Unattributed.ThisMonth != 0 {
		t.Errorf("team=ops: got %d rows, unattributed %.2f; want payments and search only", len(opsOnly.Rows), opsOnly.Unattributed.ThisMonth)
	}
	sum(t, "total under ops", opsOnly.Total.Costs, pay.Costs, srch.Costs)
	if got := get("groupBy=component&system=system:default/shop&months=2"); len(got.Rows) != 2 || len(got.Months) != 2 {
		t.Errorf("system=shop, 2 months: got %d rows, %v", len(got.Rows), got.Months)
	}

	for q, want := range map[string]string{
		"groupBy=owner":         "groupBy",
		"months=25":             "months",
		"months=many":           "months",
		"team=system:default/x": "team",
		"format=xml":            "format",
	} {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		c.JSON("GET", "/api/azure/costs?"+q, nil, 400, &e)
		if !strings.Contains(e.Error.Message, want) {
			t.Errorf("%s: message %q does not name %s", q, e.Error.Message, want)
		}
	}

	res, err = http.Get(s.BaseURL + "/api/azure/costs?groupBy=team&format=csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(res.Body).ReadAll()
	res.Body.Close()
	if err != nil || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %v %s", err, res.Header.Get("Content-Type"))
	}
	if got := strings.Join(recs[0][:7], ","); got != "ref,kind,title,"+strings.Join(byTeam.Months, ",") {
		t.Errorf("csv header: got %s", got)
	}
	if len(recs) != 1+len(byTeam.Rows)+2 || recs[len(recs)-1][1] != "total" {
		t.Errorf("csv: got %d records, want header, %d teams, unattributed and total", len(recs), len(byTeam.Rows))
	}
}

// TestCostsAuthorized: the report reads the catalog as the reader. A
// component the policy hides from jane is not hers to see, so its cost
// shows as unattributed and the total stays whole; bob, who may read
// nothing, is refused.
func TestCostsAuthorized(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: atrium.dev/v1
roles:
  - name: reader
    permissions: [catalog.entity.read]
bindings:
  - role: reader
    subjects: [user:default/jane]
rules:
  - name: hide-secret
    effect: deny
    permissions: [catalog.entity.read]
    condition: '"secret" in resource.tags && !("user:default/guest" in principal.ownershipRefs)'
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := startCosts(t, fmt.Sprintf("permission:\n  enabled: true\n  policies: [%q]\n", policy))
	all := costReport{}
	client{T: t, Base: s.BaseURL}.JSON("GET", "/api/azure/costs?groupBy=component", nil, 200, &all)
	jane := costReport{}
	client{T: t, Base: s.BaseURL, Token: s.Token(t, "user:default/jane")}.JSON("GET", "/api/azure/costs?groupBy=component", nil, 200, &jane)
	if len(all.Rows) != 3 || len(jane.Rows) != 2 {
		t.Fatalf("rows: admin %d, jane %d; want 3 and 2", len(all.Rows), len(jane.Rows))
	}
	for _, r := range jane.Rows {
		if r.Ref == "component:default/search" {
			t.Error("jane sees the hidden component's cost")
		}
	}
	search := all.row(t, "component:default/search")
	sum(t, "jane's unattributed", jane.Unattributed.Costs, all.Unattributed.Costs, search.Costs)
	sum(t, "jane's total", jane.Total.Costs, all.Total.Costs)

	var e struct {
		Error struct{ Name, Message string } `json:"error"`
	}
	client{T: t, Base: s.BaseURL, Token: s.Token(t, "user:default/bob")}.JSON("GET", "/api/azure/costs", nil, 403, &e)
	if !strings.Contains(e.Error.Message, "catalog.entity.read") {
		t.Errorf("bob: got %+v, want a refusal naming catalog.entity.read", e.Error)
	}
}
