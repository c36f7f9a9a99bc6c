package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	az "github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/plugin"
)

// CostCard is the "Azure cost" entity card of components, systems and
// groups: the entity's monthly cost as the FinOps view attributes it,
// with its trend.
type CostCard struct{ p *Plugin }

var _ plugin.EntityCard = (*CostCard)(nil)

func (c *CostCard) ID() string       { return "cost" }
func (c *CostCard) Title() string    { return "Azure cost" }
func (c *CostCard) Selector() string { return "kind=component,kind=system,kind=group" }

func (c *CostCard) Render(ctx context.Context, raw json.RawMessage) (plugin.View, error) {
	var e catalog.Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "entity: %v", err)
	}
	ref := e.Ref().String()
	q := CostQuery{}
	switch strings.ToLower(e.Kind) {
	case "component":
		q.GroupBy = az.ByComponent
	case "system":
		q.GroupBy, q.System = az.BySystem, ref
	case "group":
		q.GroupBy, q.Team = az.ByTeam, ref
	default:
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "the cost card shows components, systems and groups, not %s", e.Kind)
	}
	rep, err := c.p.CostReport(ctx, q)
	if err != nil {
		return plugin.View{}, err
	}
	var v plugin.View
	if c.p.Simulated() {
		v.Blocks = append(v.Blocks, plugin.Block{Badges: []plugin.Badge{{Label: "simulated Azure", Status: plugin.StatusWarning}}})
	}
	var row *az.ReportRow
	for i := range rep.Rows {
		if rep.Rows[i].Ref == ref {
			row = &rep.Rows[i]
		}
	}
	if row == nil {
		v.Blocks = append(v.Blocks, plugin.Block{Markdown: fmt.Sprintf("No Azure cost is attributed to this %s. A component's cost comes from its `%s` annotation or from resources tagged `%s: <component name>`.",
			strings.ToLower(e.Kind), AnnotationResourceGroup, c.p.costTag)})
		return v, nil
	}
	kv := []plugin.KeyValue{
		{Key: "This month (to date)", Value: money(row.ThisMonth, rep.Currency)},
		{Key: "Last month", Value: money(row.LastMonth, rep.Currency)},
		{Key: "Change (run rate)", Value: ChangeLabel(row.ChangePercent)},
	}
	if n := len(row.Components); n > 0 && q.GroupBy != az.ByComponent {
		kv = append(kv, plugin.KeyValue{Key: "Components", Value: fmt.Sprint(n)})
	}
	kv = append(kv, plugin.KeyValue{Key: "FinOps", Value: "all costs", Href: "/finops?groupBy=" + q.GroupBy + "&row=" + url.QueryEscape(ref)})
	v.Blocks = append(v.Blocks, plugin.Block{KeyValues: kv})
	ts := &plugin.TimeSeries{Label: "Monthly cost", Unit: rep.Currency}
	for i, m := range rep.Months {
		ts.Points = append(ts.Points, plugin.Point{Time: m, Value: row.Costs[i]})
	}
	v.Blocks = append(v.Blocks, plugin.Block{TimeSeries: ts})
	return v, nil
}

func money(v float64, currency string) string {
	return strings.TrimSpace(fmt.Sprintf("%.2f %s", v, currency))
}

// ChangeLabel shows a change in percent ("+4.2%", "−3.0%", "new").
func ChangeLabel(p *float64) string {
	if p == nil {
		return "new"
	}
	return fmt.Sprintf("%+.1f%%", *p)
}
