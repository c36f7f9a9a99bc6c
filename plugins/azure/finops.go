package azure

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	az "github.com/atrium-portal/atrium/internal/integrations/azure"
	"github.com/atrium-portal/atrium/plugin"
)

// Catalog is what cost attribution reads of the catalog: Atrium hands
// the plugin its authorized catalog, so a reader's report holds only the
// entities the reader may see.
type Catalog interface {
	Entities(ctx context.Context, q engine.Query) (*engine.Page, error)
	EntitiesByRefs(ctx context.Context, refs []string, filter *catalog.Filter) ([]*catalog.Entity, error)
}

// UseCatalog gives the plugin the catalog the FinOps view and cost card
// attribute costs with (internal/app calls it once the plugin runs).
func (p *Plugin) UseCatalog(c Catalog) {
	p.catalogMu.Lock()
	defer p.catalogMu.Unlock()
	p.catalog = c
}

func (p *Plugin) cat() Catalog {
	p.catalogMu.Lock()
	defer p.catalogMu.Unlock()
	return p.catalog
}

// CostsConfigured reports whether a subscription is configured, so that
// costs can be shown (the FinOps navigation item).
func (p *Plugin) CostsConfigured() bool { return len(p.subs) > 0 }

// DefaultCostTag is the tag whose value names the component a resource
// belongs to, when plugins.azure.config.costTag is not set.
const DefaultCostTag = "idp-component"

// MaxMonths bounds the months of one report.
const MaxMonths = 24

// CostQuery asks for a cost report.
type CostQuery struct {
	// GroupBy is team (default), system or component.
	GroupBy string
	// Months is how many months, the current one last (default
	// plugins.azure.config.costMonths, 6).
	Months int
	// Team and System are entity refs that keep only the components
	// under that team (sub-groups included) or in that system.
	Team, System string
}

// Validate checks q, naming the parameter at fault, and fills in the
// defaults.
func (p *Plugin) validQuery(q CostQuery) (CostQuery, error) {
	switch q.GroupBy {
	case "":
		q.GroupBy = az.ByTeam
	case az.ByTeam, az.BySystem, az.ByComponent:
	default:
		return q, plugin.Errorf(plugin.ErrInvalid, "groupBy: %q is not one of team, system, component", q.GroupBy)
	}
	if q.Months == 0 {
		q.Months = p.costMonths
	}
	if q.Months < 1 || q.Months > MaxMonths {
		return q, plugin.Errorf(plugin.ErrInvalid, "months: %d is not between 1 and %d", q.Months, MaxMonths)
	}
	for _, f := range []struct {
		name string
		v    *string
		kind string
	}{{"team", &q.Team, "group"}, {"system", &q.System, "system"}} {
		if *f.v == "" {
			continue
		}
		ref, err := catalog.ParseRef(*f.v, catalog.RefDefaults{Kind: f.kind, Namespace: catalog.DefaultNamespace})
		if err != nil || !strings.EqualFold(ref.Kind, f.kind) {
			return q, plugin.Errorf(plugin.ErrInvalid, "%s: %q is not a %s ref (such as %s:default/name)", f.name, *f.v, f.kind, f.kind)
		}
		*f.v = ref.String()
	}
	return q, nil
}

// CostReport attributes the configured subscriptions' monthly costs to
// the catalog's components, systems and teams (az.Attribute). The cost
// queries are cached for plugins.azure.config.costCacheTtl and go
// through each subscription's client, its retries and circuit breaker.
func (p *Plugin) CostReport(ctx context.Context, q CostQuery) (*az.Report, error) {
	q, err := p.validQuery(q)
	if err != nil {
		return nil, err
	}
	cat := p.cat()
	if cat == nil {
		return nil, plugin.Errorf(plugin.ErrUnavailable, "the cost view is not wired to the catalog yet")
	}
	if len(p.subs) == 0 {
		return nil, plugin.Errorf(plugin.ErrUnavailable, "no Azure subscription is configured: set plugins.azure.config.subscriptions")
	}
	now := p.now()
	in := az.AttributionInput{Now: now, Months: q.Months, GroupBy: q.GroupBy, Team: q.Team, System: q.System}
	for _, s := range p.subs {
		mc, err := p.monthlyCosts(ctx, s, q.Months, now)
		if err != nil {
			return nil, err
		}
		in.Costs = append(in.Costs, az.SubscriptionCosts{Name: strings.ToLower(s.cfg.Name), Costs: mc})
	}
	if err := p.costEntities(ctx, cat, &in); err != nil {
		return nil, err
	}
	rep := az.Attribute(in)
	rep.Simulated = p.Simulated()
	return rep, nil
}

// monthlyCosts is a subscription's cost by month, resource group and
// cost tag, from the cache when fresh.
func (p *Plugin) monthlyCosts(ctx context.Context, s *subscription, months int, now time.Time) (az.MonthlyCosts, error) {
	key := fmt.Sprintf("%s/%d/%s", s.cfg.Name, months, az.MonthStart(now).Format("2006-01"))
	if mc, ok := p.monthly.get(key, now, p.costTTL); ok {
		return mc, nil
	}
	// One query at a time per key: a page that many open at once asks
	// Cost Management once (it allows a few queries a minute).
	unlock := p.monthly.lock(key)
	defer unlock()
	if mc, ok := p.monthly.get(key, now, p.costTTL); ok {
		return mc, nil
	}
	from := az.MonthStart(now).AddDate(0, 1-months, 0)
	mc, err := s.client.MonthlyCost(ctx, p.costTag, from, now)
	if err != nil {
		return az.MonthlyCosts{}, err
	}
	p.monthly.put(key, now, mc)
	return mc, nil
}

// maxCostEntities bounds the catalog entities one report reads.
const maxCostEntities = 20000

// costEntities reads the components the costs map to (annotated with
// azure.com/resource-group, or named by a cost tag value), their systems
// and their owners' group ancestry.
func (p *Plugin) costEntities(ctx context.Context, cat Catalog, in *az.AttributionInput) error {
	subName := map[string]string{}
	for _, s := range p.subs {
		n := strings.ToLower(s.cfg.Name)
		subName[n], subName[strings.ToLower(s.cfg.SubscriptionID)] = n, n
	}
	seen := map[string]bool{}
	var comps []*catalog.Entity
	collect := func(filter string) error {
		f, err := catalog.ParseFilterParams([]string{filter})
		if err != nil {
			return plugin.Errorf(plugin.ErrInternal, "cost attribution filter %q: %v", filter, err)
		}
		for offset := 0; offset < maxCostEntities; {
			page, err := cat.Entities(ctx, engine.Query{Filter: f, Offset: offset, Limit: 500})
			if err != nil {
				return err
			}
			for _, e := range page.Items {
				if ref := e.Ref().String(); !seen[ref] {
					seen[ref] = true
					comps = append(comps, e)
				}
			}
			offset += len(page.Items)
			if !page.HasMore || len(page.Items) == 0 {
				break
			}
		}
		return nil
	}
	if err := collect("kind=component,metadata.annotations." + AnnotationResourceGroup); err != nil {
		return err
	}
	tagValues := map[string]bool{}
	for _, sc := range in.Costs {
		for _, r := range sc.Costs.Rows {
			if r.TagValue != "" {
				tagValues[r.TagValue] = true
			}
		}
	}
	var names []string
	for v := range tagValues {
		names = append(names, "metadata.name="+v)
	}
	for start := 0; start < len(names); start += catalog.MaxFilterValues {
		end := min(start+catalog.MaxFilterValues, len(names))
		if err := collect("kind=component," + strings.Join(names[start:end], ",")); err != nil {
			return err
		}
	}

	systems, owners := map[string]bool{}, map[string]bool{}
	for _, e := range comps {
		ce := az.CostEntity{Ref: e.Ref().String(), Title: e.Metadata.Title, TagValue: strings.ToLower(e.Metadata.Name)}
		if ann := strings.TrimSpace(e.Metadata.Annotations[AnnotationResourceGroup]); ann != "" {
			sub, group, ok := strings.Cut(ann, "/")
			if !ok && len(p.subs) == 1 {
				sub, group = p.subs[0].cfg.Name, ann
			}
			if n := subName[strings.ToLower(sub)]; n != "" && group != "" {
				ce.ResourceGroups = append(ce.ResourceGroups, n+"/"+strings.ToLower(group))
			}
		}
		for _, r := range e.Relations {
			t := strings.ToLower(r.TargetRef)
			switch {
			case r.Type == catalog.RelationPartOf && strings.HasPrefix(t, "system:"):
				ce.System = t
				systems[t] = true
			case r.Type == catalog.RelationOwnedBy:
				ce.Owners = append(ce.Owners, t)
				if strings.HasPrefix(t, "group:") {
					owners[t] = true
				}
			}
		}
		in.Components = append(in.Components, ce)
	}
	sys, err := p.byRefs(ctx, cat, keys(systems))
	if err != nil {
		return err
	}
	for _, e := range sys {
		in.Systems = append(in.Systems, az.CostEntity{Ref: e.Ref().String(), Title: e.Metadata.Title})
	}
	// The owners, then their parents, level by level.
	done := map[string]bool{}
	next := keys(owners)
	for depth := 0; len(next) > 0 && depth < 16; depth++ {
		groups, err := p.byRefs(ctx, cat, next)
		if err != nil {
			return err
		}
		next = nil
		for _, g := range groups {
			ref := g.Ref().String()
			if done[ref] {
				continue
			}
			done[ref] = true
			ce := az.CostEntity{Ref: ref, Title: g.Metadata.Title}
			for _, r := range g.Relations {
				if t := strings.ToLower(r.TargetRef); r.Type == catalog.RelationChildOf && strings.HasPrefix(t, "group:") {
					ce.Parents = append(ce.Parents, t)
					if !done[t] {
						next = append(next, t)
					}
				}
			}
			in.Groups = append(in.Groups, ce)
		}
	}
	return nil
}

func (p *Plugin) byRefs(ctx context.Context, cat Catalog, refs []string) ([]*catalog.Entity, error) {
	var out []*catalog.Entity
	for start := 0; start < len(refs); start += 500 {
		es, err := cat.EntitiesByRefs(ctx, refs[start:min(start+500, len(refs))], nil)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e != nil {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// monthlyCache keeps monthly cost answers for costTTL.
type monthlyCache struct {
	mu      sync.Mutex
	entries map[string]monthlyEntry
	locks   map[string]*sync.Mutex
}

type monthlyEntry struct {
	at    time.Time
	costs az.MonthlyCosts
}

func (c *monthlyCache) get(key string, now time.Time, ttl time.Duration) (az.MonthlyCosts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.Sub(e.at) > ttl {
		return az.MonthlyCosts{}, false
	}
	return e.costs, true
}

func (c *monthlyCache) put(key string, now time.Time, mc az.MonthlyCosts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]monthlyEntry{}
	}
	c.entries[key] = monthlyEntry{at: now, costs: mc}
}

// lock serializes the queries of one key.
func (c *monthlyCache) lock(key string) func() {
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[string]*sync.Mutex{}
	}
	l := c.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[key] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}
