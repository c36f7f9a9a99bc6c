package azuresim

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
)

// Currency is the simulated subscription's billing currency.
const Currency = "EUR"

// CostQueries is how many Cost Management queries were answered.
func (s *Sim) CostQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.costQueries
}

// query answers a Cost Management query over the resources of group (all
// groups when empty) the way the API shapes it: one column per grouping
// (ResourceGroupName; TagKey and TagValue for a tag), the date column of
// the granularity (UsageDate as a number for Daily, BillingMonth as a
// string for Monthly, none without granularity) and Currency. Resources
// carry their group's tags (as with Cost Management's tag inheritance).
func (s *Sim) query(group string, q armcostmanagement.QueryDefinition) (armcostmanagement.QueryResult, error) {
	gran := ""
	if q.Dataset != nil && q.Dataset.Granularity != nil {
		gran = string(*q.Dataset.Granularity)
	}
	if gran != "" && gran != "Daily" && gran != "Monthly" {
		return armcostmanagement.QueryResult{}, fmt.Errorf("InvalidGranularity")
	}
	byGroup, tagKey := false, ""
	if q.Dataset != nil {
		if len(q.Dataset.Grouping) > 2 {
			return armcostmanagement.QueryResult{}, fmt.Errorf("TooManyGroupings")
		}
		for _, g := range q.Dataset.Grouping {
			if g == nil || g.Type == nil || g.Name == nil {
				return armcostmanagement.QueryResult{}, fmt.Errorf("InvalidGrouping")
			}
			switch {
			case *g.Type == armcostmanagement.QueryColumnTypeDimension && strings.EqualFold(*g.Name, "ResourceGroupName"):
				byGroup = true
			case *g.Type == armcostmanagement.QueryColumnTypeTagKey && *g.Name != "":
				tagKey = *g.Name
			default:
				return armcostmanagement.QueryResult{}, fmt.Errorf("UnsupportedGrouping")
			}
		}
	}
	s.mu.Lock()
	var groups []*Group
	for _, g := range s.groups {
		if group == "" || strings.EqualFold(g.Name, group) {
			c := *g
			groups = append(groups, &c)
		}
	}
	resources := map[string][]Resource{}
	for _, g := range groups {
		resources[g.Name] = s.resourcesLocked(g.Name)
	}
	s.mu.Unlock()
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })

	cols := []*armcostmanagement.QueryColumn{{Name: to.Ptr("PreTaxCost"), Type: to.Ptr("Number")}}
	switch gran {
	case "Daily":
		cols = append(cols, &armcostmanagement.QueryColumn{Name: to.Ptr("UsageDate"), Type: to.Ptr("Number")})
	case "Monthly":
		cols = append(cols, &armcostmanagement.QueryColumn{Name: to.Ptr("BillingMonth"), Type: to.Ptr("Datetime")})
	}
	if byGroup {
		cols = append(cols, &armcostmanagement.QueryColumn{Name: to.Ptr("ResourceGroupName"), Type: to.Ptr("String")})
	}
	if tagKey != "" {
		cols = append(cols, &armcostmanagement.QueryColumn{Name: to.Ptr("TagKey"), Type: to.Ptr("String")},
			&armcostmanagement.QueryColumn{Name: to.Ptr("TagValue"), Type: to.Ptr("String")})
	}
	cols = append(cols, &armcostmanagement.QueryColumn{Name: to.Ptr("Currency"), Type: to.Ptr("String")})

	type key struct {
		period    string
		rg, value string
	}
	sums := map[key]float64{}
	var order []key
	from := q.TimePeriod.From.UTC().Truncate(24 * time.Hour)
	to_ := q.TimePeriod.To.UTC()
	for day := from; !day.After(to_); day = day.Add(24 * time.Hour) {
		period := ""
		switch gran {
		case "Daily":
			period = day.Format("20060102")
		case "Monthly":
			period = time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05")
		}
		for _, g := range groups {
			k := key{period: period}
			if byGroup {
				k.rg = strings.ToLower(g.Name)
			}
			if tagKey != "" {
				k.value = tagValue(g.Tags, tagKey)
			}
			if _, ok := sums[k]; !ok {
				order = append(order, k)
			}
			sums[k] += dailyCost(resources[g.Name], day)
		}
	}
	var rows [][]any
	for _, k := range order {
		row := []any{float64(int(sums[k]*100+0.5)) / 100}
		switch gran {
		case "Daily":
			var n float64
			fmt.Sscan(k.period, &n)
			row = append(row, n)
		case "Monthly":
			row = append(row, k.period)
		}
		if byGroup {
			row = append(row, k.rg)
		}
		if tagKey != "" {
			if k.value == "" {
				row = append(row, "", "")
			} else {
				row = append(row, tagKey, k.value)
			}
		}
		rows = append(rows, append(row, Currency))
	}
	return armcostmanagement.QueryResult{Properties: &armcostmanagement.QueryProperties{Columns: cols, Rows: rows}}, nil
}

// tagValue is the value of a tag, its key matched case-insensitively
// like Azure's tag names.
func tagValue(tags map[string]string, key string) string {
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// dailyCost is the synthetic cost of a group on a day: each resource
// costs a fixed amount by type, grows or shrinks a little month by month
// (its own trend) and varies a little by day.
func dailyCost(resources []Resource, day time.Time) float64 {
	total := 0.0
	months := float64((day.Year()-2026)*12 + int(day.Month()) - 1)
	for _, r := range resources {
		h := fnv.New32a()
		h.Write([]byte(strings.ToLower(r.Type)))
		base := 0.5 + float64(h.Sum32()%450)/100
		g := fnv.New32a()
		g.Write([]byte(strings.ToLower(r.ID)))
		trend := -0.02 + float64(g.Sum32()%8)/100 // -2% to +5% a month
		d := fnv.New32a()
		d.Write([]byte(r.ID + day.Format("20060102")))
		f := 1 + trend*months
		if f < 0.2 {
			f = 0.2
		}
		total += base * f * (0.85 + float64(d.Sum32()%30)/100)
	}
	return float64(int(total*100+0.5)) / 100
}
