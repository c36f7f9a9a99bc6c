package rpc

import (
	"context"
	"encoding/json"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
	"github.com/atrium-portal/atrium/plugin"
)

// Info returns what the plugin said about itself when it started.
func (c *Client) Info() plugin.Info { return c.info }

// Provision sends the configuration and the host's offer. The plugin's
// Host.Logger writes to its stderr, which reaches StartOptions.Logger.
func (c *Client) Provision(ctx context.Context, host plugin.Host, config json.RawMessage) error {
	req := wire.ProvisionRequest{BaseURL: host.BaseURL, DataDir: host.DataDir, Config: config}
	if err := c.unary(ctx, wire.MethodProvision, "provisioning", req, nil); err != nil {
		return err
	}
	_, err := c.describe(ctx)
	return err
}

// Validate asks the plugin whether it can work.
func (c *Client) Validate(ctx context.Context) error {
	return c.unary(ctx, wire.MethodValidate, "validating", wire.Empty{}, nil)
}

// Cleanup asks the plugin to release what it holds.
func (c *Client) Cleanup(ctx context.Context) error {
	return c.unary(ctx, wire.MethodCleanup, "cleaning up", wire.Empty{}, nil)
}

// Components returns gRPC clients of the plugin's components, as it
// described them after Provision (or now, if it was not provisioned
// through this client). A plugin that cannot describe them contributes
// nothing; ComponentsErr says why.
func (c *Client) Components() plugin.Components {
	comps, err := c.describe(context.Background())
	if err != nil {
		return plugin.Components{}
	}
	return comps
}

// ComponentsErr asks for the components again and returns the error, if any.
func (c *Client) ComponentsErr(ctx context.Context) error {
	c.mu.Lock()
	c.comps = nil
	c.mu.Unlock()
	_, err := c.describe(ctx)
	return err
}

func (c *Client) describe(ctx context.Context) (plugin.Components, error) {
	c.mu.Lock()
	if c.comps != nil {
		defer c.mu.Unlock()
		return *c.comps, nil
	}
	c.mu.Unlock()
	var d wire.ComponentsResponse
	if err := c.unary(ctx, wire.MethodComponents, "listing its components", wire.Empty{}, &d); err != nil {
		return plugin.Components{}, err
	}
	var comps plugin.Components
	for _, a := range d.Actions {
		comps.Actions = append(comps.Actions, &actionClient{c: c, desc: a, operations: d.Operations, cancelCause: d.CancelCause})
	}
	for _, name := range d.Providers {
		comps.Providers = append(comps.Providers, &providerClient{c: c, name: name})
	}
	for _, name := range d.Processors {
		comps.Processors = append(comps.Processors, &processorClient{c: c, name: name})
	}
	for _, card := range d.Cards {
		comps.Cards = append(comps.Cards, &cardClient{c: c, desc: card})
	}
	for _, name := range d.Subscribers {
		comps.Subscribers = append(comps.Subscribers, &subscriberClient{c: c, name: name})
	}
	for _, name := range d.Services {
		comps.Services = append(comps.Services, &serviceClient{c: c, name: name})
	}
	c.mu.Lock()
	c.comps = &comps
	c.mu.Unlock()
	return comps, nil
}
