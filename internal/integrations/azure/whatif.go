package azure

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"
)

// Change is one resource change a deployment would make.
type Change struct {
	// ResourceID is the resource's id.
	ResourceID string
	// Type is Create, Delete, Modify, NoChange, Deploy, Ignore or
	// Unsupported.
	Type string
}

// WhatIf asks Azure what an incremental deployment of the template would
// change in the group, without changing anything. Changes are sorted by
// resource id.
func (c *Client) WhatIf(ctx context.Context, group, name string, template, params map[string]any, poll time.Duration) ([]Change, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ps := make(map[string]*armdeployments.DeploymentParameter, len(params))
	for k, v := range params {
		ps[k] = &armdeployments.DeploymentParameter{Value: v}
	}
	p, err := c.deps.BeginWhatIf(ctx, group, name, armdeployments.DeploymentWhatIf{Properties: &armdeployments.DeploymentWhatIfProperties{
		Mode:       to.Ptr(armdeployments.DeploymentModeIncremental),
		Template:   template,
		Parameters: ps,
	}}, nil)
	if err != nil {
		return nil, Fault(err, fmt.Sprintf("what-if of deployment %s in resource group %s", name, group))
	}
	if poll <= 0 {
		poll = 2 * time.Second
	}
	res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: poll})
	if err != nil {
		return nil, Fault(err, "what-if of deployment "+name)
	}
	var out []Change
	if res.Properties != nil {
		for _, ch := range res.Properties.Changes {
			if ch == nil {
				continue
			}
			out = append(out, Change{ResourceID: deref(ch.ResourceID), Type: deref(ch.ChangeType)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ResourceID < out[j].ResourceID })
	return out, nil
}
