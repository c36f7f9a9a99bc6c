package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"

	"github.com/atrium-portal/atrium/plugin"
)

// DeploymentState is what Azure says of a deployment.
type DeploymentState struct {
	Name string
	// ProvisioningState is Accepted, Running, Succeeded, Failed,
	// Canceled….
	ProvisioningState string
	// Outputs are the template's outputs by name (their values).
	Outputs map[string]any
	// Resources are the ids of the resources the deployment made.
	Resources []string
	// Error is Azure's message when the deployment failed.
	Error string
}

// Terminal reports whether the deployment has ended.
func (s DeploymentState) Terminal() bool {
	switch s.ProvisioningState {
	case "Succeeded", "Failed", "Canceled":
		return true
	}
	return false
}

// Deployment is a running template deployment (a long-running operation).
type Deployment struct {
	c      *Client
	group  string
	name   string
	poller *runtime.Poller[armdeployments.DeploymentsClientCreateOrUpdateResponse]
}

// StartDeployment begins an incremental deployment of an ARM template
// (JSON decoded into a map) with parameters (name → value) in a group.
func (c *Client) StartDeployment(ctx context.Context, group, name string, template, params map[string]any, tags map[string]string) (*Deployment, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	ps := make(map[string]*armdeployments.DeploymentParameter, len(params))
	for k, v := range params {
		ps[k] = &armdeployments.DeploymentParameter{Value: v}
	}
	p, err := c.deps.BeginCreateOrUpdate(ctx, group, name, armdeployments.Deployment{
		Properties: &armdeployments.DeploymentProperties{
			Mode:       to.Ptr(armdeployments.DeploymentModeIncremental),
			Template:   template,
			Parameters: ps,
		},
		Tags: ptrs(tags),
	}, nil)
	if err != nil {
		return nil, Fault(err, fmt.Sprintf("starting deployment %s in resource group %s", name, group))
	}
	return &Deployment{c: c, group: group, name: name, poller: p}, nil
}

// ResumeDeployment follows a deployment started before (by this or an
// earlier Atrium process) from its resume token.
func (c *Client) ResumeDeployment(ctx context.Context, group, name, token string) (*Deployment, error) {
	p, err := c.deps.BeginCreateOrUpdate(ctx, group, name, armdeployments.Deployment{}, &armdeployments.DeploymentsClientBeginCreateOrUpdateOptions{ResumeToken: token})
	if err != nil {
		return nil, plugin.Errorf(plugin.ErrInvalid, "resume token of deployment %s: %v", name, err)
	}
	return &Deployment{c: c, group: group, name: name, poller: p}, nil
}

// ResumeToken is what ResumeDeployment needs to follow the deployment.
func (d *Deployment) ResumeToken() (string, error) { return d.poller.ResumeToken() }

// Name is the deployment's name.
func (d *Deployment) Name() string { return d.name }

// FollowOptions tune Follow.
type FollowOptions struct {
	// Poll is the wait between polls (default 5s).
	Poll time.Duration
	// State is called with the deployment's state whenever its
	// provisioning state changes.
	State func(DeploymentState)
}

// Follow polls the deployment until it ends and returns its final state;
// a failed or cancelled deployment is an error saying what Azure said.
func (d *Deployment) Follow(ctx context.Context, o FollowOptions) (DeploymentState, error) {
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	last := ""
	report := func() {
		st, err := d.c.Deployment(ctx, d.group, d.name)
		if err != nil || st.ProvisioningState == last {
			return
		}
		last = st.ProvisioningState
		if o.State != nil {
			o.State(st)
		}
	}
	report()
	for !d.poller.Done() {
		select {
		case <-ctx.Done():
			return DeploymentState{}, ctx.Err()
		case <-time.After(o.Poll):
		}
		pctx, cancel := d.c.ctx(ctx)
		_, err := d.poller.Poll(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return DeploymentState{}, ctx.Err()
			}
			return d.failed(ctx, err)
		}
		report()
	}
	rctx, cancel := d.c.ctx(ctx)
	defer cancel()
	res, err := d.poller.Result(rctx)
	if err != nil {
		return d.failed(ctx, err)
	}
	st := stateOf(res.DeploymentExtended)
	if st.ProvisioningState != last && o.State != nil {
		o.State(st)
	}
	return st, nil
}

// failed explains an error of the long-running operation: the
// deployment's own error when it ended, else what Azure answered (a
// refusal while polling is the operation failing; throttling and server
// errors are Azure's).
func (d *Deployment) failed(ctx context.Context, err error) (DeploymentState, error) {
	st, gerr := d.c.Deployment(ctx, d.group, d.name)
	if gerr == nil && st.Terminal() && st.ProvisioningState != "Succeeded" {
		return st, plugin.Errorf(plugin.ErrConflict, "deployment %s ended %s: %s", d.name, st.ProvisioningState, st.Error)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode < 500 && re.StatusCode != http.StatusTooManyRequests && re.StatusCode != http.StatusRequestTimeout {
		return DeploymentState{}, plugin.Errorf(plugin.ErrConflict, "deployment %s failed: Azure answered %d %s", d.name, re.StatusCode, re.ErrorCode)
	}
	return DeploymentState{}, Fault(err, "following deployment "+d.name)
}

// Deployment reads a deployment's current state.
func (c *Client) Deployment(ctx context.Context, group, name string) (DeploymentState, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	res, err := c.deps.Get(ctx, group, name, nil)
	if err != nil {
		return DeploymentState{}, Fault(err, "deployment "+name+" in resource group "+group)
	}
	return stateOf(res.DeploymentExtended), nil
}

func stateOf(d armdeployments.DeploymentExtended) DeploymentState {
	st := DeploymentState{Name: deref(d.Name), Outputs: map[string]any{}}
	p := d.Properties
	if p == nil {
		return st
	}
	st.ProvisioningState = deref(p.ProvisioningState)
	if outs, ok := p.Outputs.(map[string]any); ok {
		for k, v := range outs {
			if m, ok := v.(map[string]any); ok {
				if val, ok := m["value"]; ok {
					st.Outputs[k] = val
					continue
				}
			}
			st.Outputs[k] = v
		}
	}
	for _, r := range p.OutputResources {
		if r != nil && r.ID != nil {
			st.Resources = append(st.Resources, *r.ID)
		}
	}
	if p.Error != nil {
		st.Error = deref(p.Error.Code) + ": " + deref(p.Error.Message)
	}
	return st
}

// CancelDeployment cancels a deployment that has not ended.
func (c *Client) CancelDeployment(ctx context.Context, group, name string) error {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	if _, err := c.deps.Cancel(ctx, group, name, nil); err != nil {
		return Fault(err, "cancelling deployment "+name)
	}
	return nil
}
