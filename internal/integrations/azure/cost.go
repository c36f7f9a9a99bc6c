package azure

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
)

// DailyCost is the cost of one day.
type DailyCost struct {
	Day  time.Time
	Cost float64
}

// Cost is a resource group's cost by day over a period.
type Cost struct {
	Currency string
	Days     []DailyCost
	Total    float64
}

// MonthToDate asks Cost Management for the actual cost of a resource
// group from the first of now's month (UTC) to now, by day.
func (c *Client) MonthToDate(ctx context.Context, group string, now time.Time) (Cost, error) {
	now = now.UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return c.DailyCost(ctx, group, from, now)
}

// DailyCost asks Cost Management for the actual cost of a resource group
// between from and to, by day. Rows are mapped by column name, as the
// API's columns are positional.
func (c *Client) DailyCost(ctx context.Context, group string, from, to_ time.Time) (Cost, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	scope := "/subscriptions/" + c.sub + "/resourceGroups/" + group
	res, err := c.usage(ctx, scope, armcostmanagement.QueryDefinition{
		Type:       to.Ptr(armcostmanagement.ExportTypeActualCost),
		Timeframe:  to.Ptr(armcostmanagement.TimeframeTypeCustom),
		TimePeriod: &armcostmanagement.QueryTimePeriod{From: to.Ptr(from), To: to.Ptr(to_)},
		Dataset: &armcostmanagement.QueryDataset{
			Granularity: to.Ptr(armcostmanagement.GranularityTypeDaily),
			Aggregation: map[string]*armcostmanagement.QueryAggregation{
				"totalCost": {Name: to.Ptr("PreTaxCost"), Function: to.Ptr(armcostmanagement.FunctionTypeSum)},
			},
		},
	})
	if err != nil {
		return Cost{}, Fault(err, "Cost Management query of resource group "+group)
	}
	out := Cost{}
	if res.Properties == nil {
		return out, nil
	}
	col, costCol, err := costColumns(res)
	if err != nil {
		return Cost{}, err
	}
	dateCol, ok := col["usagedate"]
	if !ok {
		return Cost{}, fmt.Errorf("Cost Management answered without a UsageDate column")
	}
	curCol, hasCur := col["currency"]
	byDay := map[time.Time]float64{}
	for _, row := range res.Properties.Rows {
		if len(row) <= costCol || len(row) <= dateCol {
			continue
		}
		v, ok := number(row[costCol])
		if !ok {
			continue
		}
		day, ok := usageDate(row[dateCol])
		if !ok {
			continue
		}
		byDay[day] += v
		out.Total += v
		if hasCur && len(row) > curCol {
			if s, ok := row[curCol].(string); ok {
				out.Currency = s
			}
		}
	}
	for d, v := range byDay {
		out.Days = append(out.Days, DailyCost{Day: d, Cost: v})
	}
	sort.Slice(out.Days, func(i, j int) bool { return out.Days[i].Day.Before(out.Days[j].Day) })
	return out, nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// usageDate reads a UsageDate cell: a number such as 20261204 (as the
// API sends it) or a date string; or a BillingMonth cell
// ("2026-12-01T00:00:00").
func usageDate(v any) (time.Time, bool) {
	var s string
	switch d := v.(type) {
	case float64:
		s = strconv.FormatInt(int64(d), 10)
	case string:
		s = d
	default:
		return time.Time{}, false
	}
	for _, layout := range []string{"20060102", time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(24 * time.Hour), true
		}
	}
	return time.Time{}, false
}

// costColumns indexes a Cost Management answer's columns by lower-case
// name (the API's columns are positional) and finds its cost column,
// PreTaxCost or Cost.
func costColumns(res armcostmanagement.QueryResult) (map[string]int, int, error) {
	col := map[string]int{}
	for i, cl := range res.Properties.Columns {
		if cl != nil && cl.Name != nil {
			col[strings.ToLower(*cl.Name)] = i
		}
	}
	costCol, ok := col["pretaxcost"]
	if !ok {
		if costCol, ok = col["cost"]; !ok {
			return nil, 0, fmt.Errorf("Cost Management answered without a PreTaxCost or Cost column")
		}
	}
	return col, costCol, nil
}
