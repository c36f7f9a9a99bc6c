package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

// Greeters is the entity provider hello-greeters: three components owned
// by the configured owner, emitted as a full mutation, then a delta every
// refresh interval that updates one of them.
type Greeters struct {
	owner string
	every time.Duration
}

var _ plugin.EntityProvider = (*Greeters)(nil)

// Location is the entities' managed-by-location and origin: a location
// reference of the plugin's own type, as Backstage's providers do.
const Location = "hello:greeters"

// GreeterNames are the entities' names.
var GreeterNames = []string{"hello-greeter-en", "hello-greeter-fr", "hello-greeter-de"}

func (g *Greeters) Name() string { return "hello-greeters" }

func (g *Greeters) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	full := plugin.Mutation{Type: plugin.MutationFull}
	for _, name := range GreeterNames {
		full.Entities = append(full.Entities, g.entity(name, 0))
	}
	if err := emit(ctx, full); err != nil {
		return err
	}
	t := time.NewTicker(g.every)
	defer t.Stop()
	for beat := 1; ; beat++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		name := GreeterNames[beat%len(GreeterNames)]
		if err := emit(ctx, plugin.Mutation{Type: plugin.MutationDelta, Entities: []json.RawMessage{g.entity(name, beat)}}); err != nil {
			return err
		}
	}
}

func (g *Greeters) entity(name string, beat int) json.RawMessage {
	e := map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Component",
		"metadata": map[string]any{
			"name":        name,
			"description": "A greeter provided by the hello plugin.",
			"annotations": map[string]string{
				"backstage.io/managed-by-location":        Location,
				"backstage.io/managed-by-origin-location": Location,
				"hello.example.com/beat":                  fmt.Sprint(beat),
			},
		},
		"spec": map[string]any{"type": "service", "lifecycle": "experimental", "owner": g.owner},
	}
	b, _ := json.Marshal(e)
	return b
}
