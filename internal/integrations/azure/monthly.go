package azure

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
)

// CostRow is the cost of one month of the resources of one resource
// group carrying one value of the cost tag (TagValue "" for untagged
// resources).
type CostRow struct {
	Month         time.Time
	ResourceGroup string
	TagValue      string
	Cost          float64
}

// MonthlyCosts is a subscription's cost by month, resource group and tag
// value: the rows partition the subscription's cost, so nothing is
// counted twice.
type MonthlyCosts struct {
	Currency string
	Rows     []CostRow
}

// MonthStart is the first instant of t's month (UTC).
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// MonthlyCost asks Cost Management for the subscription's actual cost
// of the months from's month to to's, by month (granularity Monthly),
// grouped by the ResourceGroupName dimension and, when tagKey is set, by
// that tag (TagKey grouping). Each cost is attributed to the pair, so a
// resource group whose resources carry different tag values yields a
// row per value.
func (c *Client) MonthlyCost(ctx context.Context, tagKey string, from, to_ time.Time) (MonthlyCosts, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	scope := "/subscriptions/" + c.sub
	grouping := []*armcostmanagement.QueryGrouping{{Type: to.Ptr(armcostmanagement.QueryColumnTypeDimension), Name: to.Ptr("ResourceGroupName")}}
	if tagKey != "" {
		grouping = append(grouping, &armcostmanagement.QueryGrouping{Type: to.Ptr(armcostmanagement.QueryColumnTypeTagKey), Name: to.Ptr(tagKey)})
	}
	res, err := c.usage(ctx, scope, armcostmanagement.QueryDefinition{
		Type:       to.Ptr(armcostmanagement.ExportTypeActualCost),
		Timeframe:  to.Ptr(armcostmanagement.TimeframeTypeCustom),
		TimePeriod: &armcostmanagement.QueryTimePeriod{From: to.Ptr(MonthStart(from)), To: to.Ptr(to_.UTC())},
		Dataset: &armcostmanagement.QueryDataset{
			Granularity: to.Ptr(armcostmanagement.GranularityType("Monthly")),
			Aggregation: map[string]*armcostmanagement.QueryAggregation{
				"totalCost": {Name: to.Ptr("PreTaxCost"), Function: to.Ptr(armcostmanagement.FunctionTypeSum)},
			},
			Grouping: grouping,
		},
	})
	if err != nil {
		return MonthlyCosts{}, Fault(err, "Cost Management query of subscription "+c.sub+" by month")
	}
	return monthlyRows(res, tagKey)
}

// monthlyRows reads the rows of a monthly query by column name (the
// API's columns are positional): PreTaxCost (or Cost), BillingMonth (or
// UsageDate), ResourceGroupName, TagKey/TagValue and Currency.
func monthlyRows(res armcostmanagement.QueryResult, tagKey string) (MonthlyCosts, error) {
	out := MonthlyCosts{}
	if res.Properties == nil {
		return out, nil
	}
	col, costCol, err := costColumns(res)
	if err != nil {
		return out, err
	}
	monthCol, ok := col["billingmonth"]
	if !ok {
		if monthCol, ok = col["usagedate"]; !ok {
			return out, fmt.Errorf("Cost Management answered without a BillingMonth column")
		}
	}
	rgCol, ok := col["resourcegroupname"]
	if !ok {
		return out, fmt.Errorf("Cost Management answered without a ResourceGroupName column")
	}
	keyCol, hasKey := col["tagkey"]
	valCol, hasVal := col["tagvalue"]
	curCol, hasCur := col["currency"]
	type key struct {
		m      time.Time
		rg, tv string
	}
	sum := map[key]float64{}
	for _, row := range res.Properties.Rows {
		if len(row) <= max(costCol, monthCol, rgCol) {
			continue
		}
		v, ok := number(row[costCol])
		if !ok {
			continue
		}
		day, ok := usageDate(row[monthCol])
		if !ok {
			continue
		}
		rg, _ := row[rgCol].(string)
		tv := ""
		if hasKey && hasVal && len(row) > max(keyCol, valCol) {
			if k, _ := row[keyCol].(string); strings.EqualFold(k, tagKey) {
				tv, _ = row[valCol].(string)
			}
		}
		sum[key{MonthStart(day), strings.ToLower(rg), strings.ToLower(tv)}] += v
		if hasCur && len(row) > curCol {
			if s, ok := row[curCol].(string); ok && s != "" {
				out.Currency = s
			}
		}
	}
	for k, v := range sum {
		out.Rows = append(out.Rows, CostRow{Month: k.m, ResourceGroup: k.rg, TagValue: k.tv, Cost: v})
	}
	sort.Slice(out.Rows, func(i, j int) bool {
		a, b := out.Rows[i], out.Rows[j]
		if !a.Month.Equal(b.Month) {
			return a.Month.Before(b.Month)
		}
		if a.ResourceGroup != b.ResourceGroup {
			return a.ResourceGroup < b.ResourceGroup
		}
		return a.TagValue < b.TagValue
	})
	return out, nil
}
