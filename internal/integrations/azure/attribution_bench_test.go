package azure_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/azure"
)

// BenchmarkAttribute attributes 12 months of one subscription (2000
// resource groups, each tagged for one of 2000 components in 200 systems
// owned by 100 teams under 10 departments) by team: the work of one
// FinOps page or API call once the costs are cached.
func BenchmarkAttribute(b *testing.B) {
	now := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	var rows []azure.CostRow
	var comps, groups []azure.CostEntity
	for d := range 10 {
		groups = append(groups, azure.CostEntity{Ref: fmt.Sprintf("group:default/dept-%d", d)})
	}
	for t := range 100 {
		groups = append(groups, azure.CostEntity{Ref: fmt.Sprintf("group:default/team-%d", t), Parents: []string{fmt.Sprintf("group:default/dept-%d", t%10)}})
	}
	for i := range 2000 {
		name := fmt.Sprintf("svc-%d", i)
		comps = append(comps, azure.CostEntity{Ref: "component:default/" + name, TagValue: name,
			System: fmt.Sprintf("system:default/sys-%d", i%200), Owners: []string{fmt.Sprintf("group:default/team-%d", i%100)}})
		for m := range 12 {
			rows = append(rows, azure.CostRow{Month: azure.MonthStart(now).AddDate(0, -m, 0), ResourceGroup: "rg-" + name, TagValue: name, Cost: float64(i%97) + float64(m)})
		}
	}
	in := azure.AttributionInput{Now: now, Months: 12, GroupBy: azure.ByTeam, Components: comps, Groups: groups,
		Costs: []azure.SubscriptionCosts{{Name: "prod", Costs: azure.MonthlyCosts{Currency: "EUR", Rows: rows}}}}
	if r := azure.Attribute(in); len(r.Rows) != 110 {
		b.Fatalf("rows: got %d, want 110 teams", len(r.Rows))
	}
	b.ResetTimer()
	for b.Loop() {
		azure.Attribute(in)
	}
}
