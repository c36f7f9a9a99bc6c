package azure_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/plugin/plugintest"
	"github.com/atrium-portal/atrium/plugins/azure"
)

// oneComponent is a catalog holding the component pay, which maps to
// rg-pay by its annotation.
type oneComponent struct{}

func (oneComponent) Entities(context.Context, engine.Query) (*engine.Page, error) {
	return &engine.Page{Items: []*catalog.Entity{{APIVersion: "backstage.io/v1alpha1", Kind: "Component",
		Metadata: catalog.Metadata{Name: "pay", Namespace: "default", Annotations: map[string]string{azure.AnnotationResourceGroup: "sim/rg-pay"}}}}}, nil
}

func (oneComponent) EntitiesByRefs(context.Context, []string, *catalog.Filter) ([]*catalog.Entity, error) {
	return nil, nil
}

// TestCostCache: the cost report asks Cost Management once per
// subscription and period within costCacheTtl, however many readers ask
// at once, and again once the TTL has passed.
func TestCostCache(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	)
	p := azure.New(azure.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	plugintest.Provision(t, p, map[string]any{
		"subscriptions": []any{map[string]any{"name": "sim", "subscriptionId": "11111111-2222-3333-4444-555555555555", "simulated": true}},
		"costCacheTtl":  "10m",
	})
	sim := p.SimulatedSubscription("sim")
	sim.PutGroup("rg-pay", "westeurope", nil)
	sim.PutResource("rg-pay", "Microsoft.Web/sites", "pay", "westeurope")
	p.UseCatalog(oneComponent{})
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			r, err := p.CostReport(ctx, azure.CostQuery{GroupBy: "component"})
			if err != nil || len(r.Rows) != 1 || r.Rows[0].ThisMonth <= 0 {
				t.Errorf("report: %+v %v", r, err)
			}
		})
	}
	wg.Wait()
	if got := sim.CostQueries(); got != 1 {
		t.Errorf("queries for 8 readers within the TTL: got %d, want 1", got)
	}
	if _, err := p.CostReport(ctx, azure.CostQuery{GroupBy: "component", Months: 3}); err != nil {
		t.Fatal(err)
	}
	if got := sim.CostQueries(); got != 2 {
		t.Errorf("queries after another period: got %d, want 2", got)
	}
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	if _, err := p.CostReport(ctx, azure.CostQuery{GroupBy: "component"}); err != nil {
		t.Fatal(err)
	}
	if got := sim.CostQueries(); got != 3 {
		t.Errorf("queries after the TTL: got %d, want 3", got)
	}
}
