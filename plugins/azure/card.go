package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/plugin"
)

// AnnotationResourceGroup names an entity's resource group:
// "<subscription>/<group>" (the subscription's configured name or id), or
// "<group>" when one subscription is configured.
const AnnotationResourceGroup = "azure.com/resource-group"

// Card is the "Azure" entity card: the resources of the entity's group
// with their provisioning state, and its month-to-date cost by day.
type Card struct{ p *Plugin }

var _ plugin.EntityCard = (*Card)(nil)

func (c *Card) ID() string       { return "resources" }
func (c *Card) Title() string    { return "Azure" }
func (c *Card) Selector() string { return "metadata.annotations." + AnnotationResourceGroup }

func (c *Card) Render(ctx context.Context, raw json.RawMessage) (plugin.View, error) {
	var e struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "entity: %v", err)
	}
	ref := strings.TrimSpace(e.Metadata.Annotations[AnnotationResourceGroup])
	subName, group, ok := strings.Cut(ref, "/")
	if !ok {
		subName, group = "", ref
	}
	if group == "" {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "annotation %s: %q must be <subscription>/<resource group>", AnnotationResourceGroup, ref)
	}
	s, err := c.p.subscription(subName, "annotation "+AnnotationResourceGroup)
	if err != nil {
		return plugin.View{}, err
	}
	g, err := s.client.Group(ctx, group)
	if err != nil {
		return plugin.View{}, err
	}
	var v plugin.View
	if s.sim != nil {
		v.Blocks = append(v.Blocks, plugin.Block{Badges: []plugin.Badge{{Label: "simulated Azure", Status: plugin.StatusWarning}}})
	}
	kv := []plugin.KeyValue{
		{Key: "Subscription", Value: s.cfg.Name},
		{Key: "Resource group", Value: g.Name},
		{Key: "Location", Value: g.Location},
	}
	if s.sim == nil {
		kv[1].Href = "https://portal.azure.com/#resource" + g.ID
	}
	if len(g.Tags) > 0 {
		var tags []string
		for k, val := range g.Tags {
			tags = append(tags, k+"="+val)
		}
		sort.Strings(tags)
		kv = append(kv, plugin.KeyValue{Key: "Tags", Value: strings.Join(tags, ", ")})
	}
	v.Blocks = append(v.Blocks, plugin.Block{KeyValues: kv})

	resources, err := s.client.Resources(ctx, group, c.p.cfg.MaxResources)
	if err != nil {
		return plugin.View{}, err
	}
	if len(resources) == 0 {
		v.Blocks = append(v.Blocks, plugin.Block{Markdown: "No resources in this group yet."})
	} else {
		var badges []plugin.Badge
		tbl := &plugin.Table{Columns: []string{"Name", "Type", "Location", "State"}}
		for _, r := range resources {
			state := r.ProvisioningState
			if state == "" {
				state = "Unknown"
			}
			badges = append(badges, plugin.Badge{Label: r.Name + " " + state, Status: statusOf(state)})
			tbl.Rows = append(tbl.Rows, []string{r.Name, r.Type, r.Location, state})
		}
		v.Blocks = append(v.Blocks, plugin.Block{Badges: badges}, plugin.Block{Table: tbl})
		if len(resources) >= c.p.cfg.MaxResources {
			v.Blocks = append(v.Blocks, plugin.Block{Markdown: fmt.Sprintf("Showing the first %d resources (plugins.azure.config.maxResources).", c.p.cfg.MaxResources)})
		}
	}

	now := c.p.now()
	key := s.cfg.Name + "/" + strings.ToLower(group)
	cost, ok := c.p.costs.get(key, now, c.p.costTTL)
	if !ok {
		cost, err = s.client.MonthToDate(ctx, group, now)
		if err != nil {
			// The card still shows the resources; the cost says why it is
			// missing.
			v.Blocks = append(v.Blocks, plugin.Block{Markdown: "Month-to-date cost is unavailable: " + safeMessage(err)})
			return v, nil
		}
		c.p.costs.put(key, now, cost)
	}
	cur := cost.Currency
	v.Blocks = append(v.Blocks, plugin.Block{KeyValues: []plugin.KeyValue{{Key: "Month-to-date cost", Value: fmt.Sprintf("%.2f %s", cost.Total, cur)}}})
	if len(cost.Days) > 0 {
		ts := &plugin.TimeSeries{Label: "Daily cost", Unit: cur}
		for _, d := range cost.Days {
			ts.Points = append(ts.Points, plugin.Point{Time: d.Day, Value: d.Cost})
		}
		v.Blocks = append(v.Blocks, plugin.Block{TimeSeries: ts})
	}
	return v, nil
}

func statusOf(state string) plugin.Status {
	switch strings.ToLower(state) {
	case "succeeded":
		return plugin.StatusOK
	case "failed":
		return plugin.StatusError
	case "canceled", "deleting":
		return plugin.StatusWarning
	case "unknown":
		return plugin.StatusUnknown
	}
	return plugin.StatusPending
}

// safeMessage is the part of an error fit for the page.
func safeMessage(err error) string {
	var pe *plugin.Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	return "Azure failed"
}
