package azure

import (
	"context"
	"errors"
	"maps"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

// Group is a resource group.
type Group struct {
	ID, Name, Location, ProvisioningState string
	Tags                                  map[string]string
}

// Resource is a resource in a group.
type Resource struct {
	ID, Name, Type, Location, ProvisioningState string
}

func groupOf(g armresources.ResourceGroup) Group {
	out := Group{ID: deref(g.ID), Name: deref(g.Name), Location: deref(g.Location), Tags: map[string]string{}}
	if g.Properties != nil {
		out.ProvisioningState = deref(g.Properties.ProvisioningState)
	}
	for k, v := range g.Tags {
		out.Tags[k] = deref(v)
	}
	return out
}

// Group reads a resource group; an absent group is a not-found error.
func (c *Client) Group(ctx context.Context, name string) (Group, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	res, err := c.groups.Get(ctx, name, nil)
	if err != nil {
		return Group{}, Fault(err, "resource group "+name)
	}
	return groupOf(res.ResourceGroup), nil
}

// EnsureResult says what EnsureGroup did.
type EnsureResult string

// The results of EnsureGroup.
const (
	GroupCreated   EnsureResult = "created"
	GroupUpdated   EnsureResult = "updated"
	GroupUnchanged EnsureResult = "unchanged"
)

// EnsureGroup creates the group, or adds the missing tags to an existing
// one in the same location. A group in another location is a conflict:
// Azure cannot move it.
func (c *Client) EnsureGroup(ctx context.Context, name, location string, tags map[string]string) (Group, EnsureResult, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	cur, err := c.groups.Get(ctx, name, nil)
	var re *azcore.ResponseError
	switch {
	case err == nil:
		g := groupOf(cur.ResourceGroup)
		if !sameLocation(g.Location, location) {
			return g, "", Conflictf("resource group %s exists in %s, not in %s; Azure cannot move a group: choose another name or location", name, g.Location, location)
		}
		merged := maps.Clone(g.Tags)
		changed := false
		for k, v := range tags {
			if merged[k] != v {
				merged[k] = v
				changed = true
			}
		}
		if !changed {
			return g, GroupUnchanged, nil
		}
		up, err := c.groups.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr(g.Location), Tags: ptrs(merged)}, nil)
		if err != nil {
			return Group{}, "", Fault(err, "updating the tags of resource group "+name)
		}
		return groupOf(up.ResourceGroup), GroupUpdated, nil
	case errors.As(err, &re) && re.StatusCode == http.StatusNotFound:
	default:
		return Group{}, "", Fault(err, "reading resource group "+name)
	}
	created, err := c.groups.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr(location), Tags: ptrs(tags)}, nil)
	if err != nil {
		return Group{}, "", Fault(err, "creating resource group "+name)
	}
	return groupOf(created.ResourceGroup), GroupCreated, nil
}

// Resources lists the resources of a group, following every page, up to
// max (0: no limit).
func (c *Client) Resources(ctx context.Context, group string, max int) ([]Resource, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var out []Resource
	pager := c.res.NewListByResourceGroupPager(group, &armresources.ClientListByResourceGroupOptions{Expand: to.Ptr("provisioningState")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, Fault(err, "listing the resources of resource group "+group)
		}
		for _, r := range page.Value {
			if r == nil {
				continue
			}
			out = append(out, Resource{ID: deref(r.ID), Name: deref(r.Name), Type: deref(r.Type), Location: deref(r.Location), ProvisioningState: deref(r.ProvisioningState)})
			if max > 0 && len(out) >= max {
				return out, nil
			}
		}
	}
	return out, nil
}

func sameLocation(a, b string) bool {
	norm := func(s string) string {
		out := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			ch := s[i]
			if ch == ' ' {
				continue
			}
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			out = append(out, ch)
		}
		return string(out)
	}
	return norm(a) == norm(b)
}

func ptrs(m map[string]string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to.Ptr(v)
	}
	return out
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
