package azure_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/internal/integrations/azure/azuresim"
)

// TestMonthlyCostPartitions asks the simulator for three months of cost
// by resource group and tag: the rows of each group add up to the
// group's own daily cost, untagged groups have an empty tag value, and
// months differ (a trend, not a constant).
func TestMonthlyCostPartitions(t *testing.T) {
	sim := azuresim.New(subID)
	sim.PutGroup("rg-a", "westeurope", map[string]string{"IDP-Component": "alpha"})
	sim.PutResource("rg-a", "Microsoft.Web/sites", "alpha", "westeurope")
	sim.PutResource("rg-a", "Microsoft.Sql/servers", "alpha-sql", "westeurope")
	sim.PutGroup("rg-shared", "westeurope", nil)
	sim.PutResource("rg-shared", "Microsoft.Network/virtualNetworks", "vnet", "westeurope")
	c := simClient(t, sim)
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

	mc, err := c.MonthlyCost(ctx, "idp-component", from, now)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Currency != "EUR" {
		t.Errorf("currency: got %q, want EUR", mc.Currency)
	}
	if len(mc.Rows) != 6 {
		t.Fatalf("rows: got %d (%+v), want 3 months × 2 groups", len(mc.Rows), mc.Rows)
	}
	byGroup := map[string]map[time.Time]float64{}
	for _, r := range mc.Rows {
		switch r.ResourceGroup {
		case "rg-a":
			if r.TagValue != "alpha" {
				t.Errorf("rg-a tag value: got %q, want alpha", r.TagValue)
			}
		case "rg-shared":
			if r.TagValue != "" {
				t.Errorf("rg-shared tag value: got %q, want none", r.TagValue)
			}
		default:
			t.Errorf("unexpected group %q", r.ResourceGroup)
		}
		if byGroup[r.ResourceGroup] == nil {
			byGroup[r.ResourceGroup] = map[time.Time]float64{}
		}
		byGroup[r.ResourceGroup][r.Month] = r.Cost
	}
	// The monthly rows agree with the daily query of the same group.
	for _, m := range []time.Time{from, from.AddDate(0, 1, 0), from.AddDate(0, 2, 0)} {
		end := m.AddDate(0, 1, 0).Add(-time.Hour)
		if end.After(now) {
			end = now
		}
		daily, err := c.DailyCost(ctx, "rg-a", m, end)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := byGroup["rg-a"][m], daily.Total; math.Abs(got-want) > 0.01 {
			t.Errorf("rg-a %s: got %.2f monthly, want %.2f (the daily sum)", m.Format("2006-01"), got, want)
		}
	}
	if byGroup["rg-a"][from] == byGroup["rg-a"][from.AddDate(0, 1, 0)] {
		t.Errorf("rg-a costs the same two months running (%v): not a plausible trend", byGroup["rg-a"])
	}

	// Without a tag the grouping is by resource group only.
	mc, err = c.MonthlyCost(ctx, "", from, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mc.Rows {
		if r.TagValue != "" {
			t.Errorf("untagged query row has tag value %q", r.TagValue)
		}
	}
}

// TestAttribute checks the attribution rules on fixed input: tag first,
// then resource group, else unattributed; systems and teams are sums of
// their components, a parent team counts its sub-team's components once.
func TestAttribute(t *testing.T) {
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	dec := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	costs := []azure.SubscriptionCosts{{Name: "prod", Costs: azure.MonthlyCosts{Currency: "EUR", Rows: []azure.CostRow{
		{Month: nov, ResourceGroup: "rg-pay", Cost: 10},
		{Month: dec, ResourceGroup: "rg-pay", Cost: 12},
		{Month: dec, ResourceGroup: "rg-pay", TagValue: "search", Cost: 3}, // the tag wins over the group
		{Month: dec, ResourceGroup: "rg-x", TagValue: "checkout", Cost: 5},
		{Month: nov, ResourceGroup: "rg-x", TagValue: "nobody", Cost: 7}, // no such component
		{Month: dec, ResourceGroup: "rg-hub", Cost: 1.5},
		{Month: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), ResourceGroup: "rg-pay", Cost: 99}, // outside the period
	}}}}
	comps := []azure.CostEntity{
		{Ref: "component:default/payments", ResourceGroups: []string{"prod/rg-pay"}, TagValue: "payments", System: "system:default/shop", Owners: []string{"group:default/ops"}},
		{Ref: "component:default/checkout", TagValue: "checkout", System: "system:default/shop", Owners: []string{"group:default/web"}},
		{Ref: "component:default/search", TagValue: "search", Owners: []string{"group:default/ops", "user:default/jane"}},
	}
	groups := []azure.CostEntity{
		{Ref: "group:default/ops", Parents: []string{"group:default/org"}},
		{Ref: "group:default/web", Parents: []string{"group:default/org"}},
		{Ref: "group:default/org"},
	}
	in := azure.AttributionInput{Now: dec.Add(5 * 24 * time.Hour), Months: 2, Costs: costs, Components: comps, Groups: groups}
	row := func(r *azure.Report, ref string) azure.ReportRow {
		for _, x := range r.Rows {
			if x.Ref == ref {
				return x
			}
		}
		t.Fatalf("no row %s in %+v", ref, r.Rows)
		return azure.ReportRow{}
	}
	eq := func(what string, got, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Errorf("%s: got %v, want %v", what, got, want)
				return
			}
		}
	}

	in.GroupBy = azure.ByComponent
	r := azure.Attribute(in)
	eq("payments", row(r, "component:default/payments").Costs, []float64{10, 12})
	eq("search", row(r, "component:default/search").Costs, []float64{0, 3})
	eq("checkout", row(r, "component:default/checkout").Costs, []float64{0, 5})
	eq("unattributed", r.Unattributed.Costs, []float64{7, 1.5})
	eq("total", r.Total.Costs, []float64{17, 21.5})
	// Five days into December, 12 to date is a run rate of 12/5×31.
	if p := row(r, "component:default/payments").ChangePercent; p == nil || *p != 644 {
		t.Errorf("payments change on 6 December: got %v, want +644%% (run rate 74.4 against 10)", p)
	}
	end := in
	end.Now = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)
	if p := row(azure.Attribute(end), "component:default/payments").ChangePercent; p == nil || *p != 20 {
		t.Errorf("payments change at the end of December: got %v, want +20%%", p)
	}
	if r.MonthLabels[0] != "2026-11" || r.MonthLabels[1] != "2026-12" || r.Currency != "EUR" {
		t.Errorf("months %v currency %q", r.MonthLabels, r.Currency)
	}

	in.GroupBy = azure.BySystem
	r = azure.Attribute(in)
	eq("shop", row(r, "system:default/shop").Costs, []float64{10, 17})
	if len(r.Rows) != 1 {
		t.Errorf("systems: got %d rows, want shop only (search has no system)", len(r.Rows))
	}

	in.GroupBy = azure.ByTeam
	r = azure.Attribute(in)
	eq("ops", row(r, "group:default/ops").Costs, []float64{10, 15})
	eq("web", row(r, "group:default/web").Costs, []float64{0, 5})
	eq("org (ops and web, each component once)", row(r, "group:default/org").Costs, []float64{10, 20})
	for _, x := range r.Rows {
		if x.Kind != "group" {
			t.Errorf("team row %s of kind %s", x.Ref, x.Kind)
		}
	}

	in.Team = "group:default/ops"
	in.GroupBy = azure.ByComponent
	r = azure.Attribute(in)
	if len(r.Rows) != 2 {
		t.Errorf("ops's components: got %d rows, want payments and search", len(r.Rows))
	}
	eq("total under ops", r.Total.Costs, []float64{10, 15})
	eq("unattributed under a filter", r.Unattributed.Costs, []float64{0, 0})
}
