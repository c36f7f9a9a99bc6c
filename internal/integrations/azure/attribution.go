package azure

import (
	"sort"
	"strings"
	"time"
)

// The groupings of a cost report.
const (
	ByTeam      = "team"
	BySystem    = "system"
	ByComponent = "component"
)

// CostEntity is a catalog entity as cost attribution sees it. Refs are
// lower-case entity refs (component:default/payment-service).
type CostEntity struct {
	Ref   string
	Title string
	// ResourceGroups are the "<subscription>/<group>" pairs (lower case)
	// a component's resources are in (azure.com/resource-group).
	ResourceGroups []string
	// TagValue is the value of the cost tag that marks a component's
	// resources (its name).
	TagValue string
	// System is a component's system ref ("" when it has none).
	System string
	// Owners are a component's owner refs (groups and users).
	Owners []string
	// Parents are a group's parent group refs (childOf).
	Parents []string
}

// SubscriptionCosts are one subscription's monthly costs.
type SubscriptionCosts struct {
	// Name is the subscription's configured name.
	Name  string
	Costs MonthlyCosts
}

// AttributionInput is what Attribute works on.
type AttributionInput struct {
	// Now's month is the last month of the report.
	Now    time.Time
	Months int
	Costs  []SubscriptionCosts
	// Components, Systems and Groups are the entities the reader may
	// see; costs of components it may not see are unattributed.
	Components, Systems, Groups []CostEntity
	GroupBy                     string
	// Team and System, when set, keep only the components under that
	// team (or its sub-groups) or in that system.
	Team, System string
}

// CostSeries is a cost by month, oldest first, with the last two months
// compared.
type CostSeries struct {
	Costs     []float64 `json:"costs"`
	ThisMonth float64   `json:"thisMonth"`
	LastMonth float64   `json:"lastMonth"`
	// ChangePercent is this month's run rate (its cost to date,
	// projected to the whole month) against last month (nil when last
	// month cost nothing).
	ChangePercent *float64 `json:"changePercent"`
}

// ReportRow is the cost of one team, system or component.
type ReportRow struct {
	Ref   string `json:"ref"`
	Kind  string `json:"kind"`
	Title string `json:"title,omitempty"`
	CostSeries
	// Components are the refs of the components summed (teams and
	// systems), with their own series in Report.Components.
	Components []string `json:"components,omitempty"`
	// System and Owners are a component's.
	System string   `json:"system,omitempty"`
	Owners []string `json:"owners,omitempty"`
}

// Report is the cost of every team, system or component, by month.
type Report struct {
	GroupBy  string      `json:"groupBy"`
	Currency string      `json:"currency"`
	Months   []time.Time `json:"-"`
	// MonthLabels are the months as YYYY-MM, oldest first.
	MonthLabels []string    `json:"months"`
	Rows        []ReportRow `json:"rows"`
	// Components are the series of every component with a cost, by
	// ref, for breakdowns of teams and systems.
	Components map[string]ReportRow `json:"-"`
	// Unattributed is the cost no visible component maps to (only
	// without a team or system filter); Total is everything shown.
	Unattributed CostSeries `json:"unattributed"`
	Total        CostSeries `json:"total"`
	// Simulated is set when the costs come from simulated subscriptions.
	Simulated bool `json:"simulated,omitempty"`
}

// Attribute builds the report: each cost row goes to the component its
// tag value names, else to the component its resource group maps to,
// else to no one (unattributed). A system's cost is the sum of its
// components; a team's the sum of the components it or its sub-groups
// own, each component counted once.
func Attribute(in AttributionInput) *Report {
	if in.Months <= 0 {
		in.Months = 6
	}
	last := MonthStart(in.Now)
	elapsed := float64(in.Now.Sub(last)) / float64(last.AddDate(0, 1, 0).Sub(last))
	r := &Report{GroupBy: in.GroupBy, Components: map[string]ReportRow{}}
	index := map[time.Time]int{}
	for i := range in.Months {
		m := last.AddDate(0, i-in.Months+1, 0)
		r.Months = append(r.Months, m)
		r.MonthLabels = append(r.MonthLabels, m.Format("2006-01"))
		index[m] = i
	}
	byTag, byGroup := map[string]string{}, map[string]string{}
	comps := map[string]CostEntity{}
	for _, c := range sortedEntities(in.Components) {
		comps[c.Ref] = c
		if c.TagValue != "" {
			if _, taken := byTag[c.TagValue]; !taken {
				byTag[c.TagValue] = c.Ref
			}
		}
		for _, g := range c.ResourceGroups {
			if _, taken := byGroup[g]; !taken {
				byGroup[g] = c.Ref
			}
		}
	}
	costs := map[string][]float64{}
	unattributed := make([]float64, in.Months)
	for _, sc := range in.Costs {
		if sc.Costs.Currency != "" {
			r.Currency = sc.Costs.Currency
		}
		for _, row := range sc.Costs.Rows {
			i, ok := index[MonthStart(row.Month)]
			if !ok {
				continue
			}
			ref := byTag[strings.ToLower(row.TagValue)]
			if ref == "" || row.TagValue == "" {
				ref = byGroup[strings.ToLower(sc.Name+"/"+row.ResourceGroup)]
			}
			if ref == "" {
				unattributed[i] += row.Cost
				continue
			}
			if costs[ref] == nil {
				costs[ref] = make([]float64, in.Months)
			}
			costs[ref][i] += row.Cost
		}
	}
	// Components are summed in cents, so a team's or system's cost is
	// exactly the sum of its components' as shown.
	for ref, c := range costs {
		costs[ref] = series(c, 1).Costs
	}
	unattributed = series(unattributed, 1).Costs

	// The teams each component counts for: its owners and their
	// ancestors.
	parents := map[string][]string{}
	titles := map[string]string{}
	for _, g := range in.Groups {
		parents[g.Ref] = g.Parents
		titles[g.Ref] = g.Title
	}
	for _, s := range in.Systems {
		titles[s.Ref] = s.Title
	}
	teamsOf := func(c CostEntity) map[string]bool {
		seen := map[string]bool{}
		var walk func(ref string, depth int)
		walk = func(ref string, depth int) {
			if seen[ref] || depth > 16 || !strings.HasPrefix(ref, "group:") {
				return
			}
			seen[ref] = true
			for _, p := range parents[ref] {
				walk(p, depth+1)
			}
		}
		for _, o := range c.Owners {
			walk(o, 0)
		}
		return seen
	}

	agg := map[string]*ReportRow{}
	add := func(ref, kind string, comp string, series []float64) {
		row := agg[ref]
		if row == nil {
			row = &ReportRow{Ref: ref, Kind: kind, Title: titles[ref]}
			row.Costs = make([]float64, in.Months)
			agg[ref] = row
		}
		row.Components = append(row.Components, comp)
		for i, v := range series {
			row.Costs[i] += v
		}
	}
	for _, ref := range sortedKeys(costs) {
		c := comps[ref]
		teams := teamsOf(c)
		if in.Team != "" && !teams[in.Team] {
			continue
		}
		if in.System != "" && c.System != in.System {
			continue
		}
		row := ReportRow{Ref: ref, Kind: "component", Title: c.Title, System: c.System, Owners: c.Owners}
		row.CostSeries = series(costs[ref], elapsed)
		r.Components[ref] = row
		switch in.GroupBy {
		case ByTeam:
			for _, t := range sortedKeys(teams) {
				add(t, "group", ref, costs[ref])
			}
		case BySystem:
			if c.System != "" {
				add(c.System, "system", ref, costs[ref])
			}
		default:
			r.Rows = append(r.Rows, row)
		}
	}
	for _, row := range agg {
		row.CostSeries = series(row.Costs, elapsed)
		r.Rows = append(r.Rows, *row)
	}
	sort.SliceStable(r.Rows, func(i, j int) bool {
		if r.Rows[i].ThisMonth != r.Rows[j].ThisMonth {
			return r.Rows[i].ThisMonth > r.Rows[j].ThisMonth
		}
		return r.Rows[i].Ref < r.Rows[j].Ref
	})
	total := make([]float64, in.Months)
	for _, c := range r.Components {
		for i, v := range c.Costs {
			total[i] += v
		}
	}
	if in.Team == "" && in.System == "" {
		r.Unattributed = series(unattributed, elapsed)
		for i, v := range unattributed {
			total[i] += v
		}
	} else {
		r.Unattributed = series(make([]float64, in.Months), elapsed)
	}
	r.Total = series(total, elapsed)
	return r
}

// series rounds a cost by month to cents and compares its last two
// months: elapsed is how much of the last month has passed (0 to 1), so
// that its month-to-date cost is compared at its run rate.
func series(costs []float64, elapsed float64) CostSeries {
	s := CostSeries{Costs: make([]float64, len(costs))}
	for i, v := range costs {
		s.Costs[i] = cents(v)
	}
	// cents also clears the float noise of sums of cents.
	if n := len(s.Costs); n > 0 {
		s.ThisMonth = s.Costs[n-1]
		if n > 1 {
			s.LastMonth = s.Costs[n-2]
			if s.LastMonth != 0 {
				rate := s.ThisMonth / max(elapsed, 1.0/31)
				if elapsed >= 1 {
					rate = s.ThisMonth
				}
				d := (rate - s.LastMonth) / s.LastMonth * 100
				p := float64(int64(d*10+signHalf(d))) / 10
				s.ChangePercent = &p
			}
		}
	}
	return s
}

func cents(v float64) float64 { return float64(int64(v*100+signHalf(v))) / 100 }

func signHalf(v float64) float64 {
	if v < 0 {
		return -0.5
	}
	return 0.5
}

func sortedEntities(es []CostEntity) []CostEntity {
	out := append([]CostEntity(nil), es...)
	// The default namespace wins a tag value or group claimed twice.
	sort.SliceStable(out, func(i, j int) bool {
		di, dj := strings.Contains(out[i].Ref, ":default/"), strings.Contains(out[j].Ref, ":default/")
		if di != dj {
			return di
		}
		return out[i].Ref < out[j].Ref
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
