package main

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"time"

	"github.com/atrium-portal/atrium/plugin"
)

// GreetingCard is the entity card greeting, on every component's page.
type GreetingCard struct {
	greeting string
}

var _ plugin.EntityCard = (*GreetingCard)(nil)

func (c *GreetingCard) ID() string       { return "greeting" }
func (c *GreetingCard) Title() string    { return "Greeting" }
func (c *GreetingCard) Selector() string { return "kind=component" }

type entity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Owner     string `json:"owner"`
		Lifecycle string `json:"lifecycle"`
	} `json:"spec"`
}

// Epoch is the end of the card's time series, fixed so the card is the
// same on every run.
var Epoch = time.Date(2026, 1, 7, 0, 0, 0, 0, time.UTC)

func (c *GreetingCard) Render(_ context.Context, raw json.RawMessage) (plugin.View, error) {
	var e entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "the entity is not JSON: %v", err)
	}
	status := plugin.StatusUnknown
	switch e.Spec.Lifecycle {
	case "production":
		status = plugin.StatusOK
	case "experimental":
		status = plugin.StatusWarning
	case "deprecated":
		status = plugin.StatusError
	}
	h := fnv.New32a()
	h.Write([]byte(e.Metadata.Name))
	seed := h.Sum32()
	series := &plugin.TimeSeries{Label: "Greetings per day", Unit: "greetings"}
	for i := range 7 {
		v := float64((seed>>(i*3))%17 + uint32(i))
		series.Points = append(series.Points, plugin.Point{Time: Epoch.AddDate(0, 0, i-6), Value: v})
	}
	return plugin.View{Blocks: []plugin.Block{
		{KeyValues: []plugin.KeyValue{
			{Key: "Greeting", Value: c.greeting + ", " + e.Metadata.Name + "!"},
			{Key: "Owner", Value: e.Spec.Owner},
		}},
		{Badges: []plugin.Badge{{Label: "lifecycle: " + e.Spec.Lifecycle, Status: status}}},
		{TimeSeries: series},
		{Links: []plugin.Link{{Title: "Greet someone with a template", URL: "/create"}}},
	}}, nil
}
