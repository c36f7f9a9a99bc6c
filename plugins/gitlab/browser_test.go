package gitlab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
)

// TestBrowserGitLabCard opens, on a desktop and a phone, the page of a
// component the demo's Go service template published to the simulated
// GitLab: the GitLab card with the simulated instance, a coloured
// pipeline badge linking to the simulator, the README as rendered
// markdown, and no horizontal overflow.
func TestBrowserGitLabCard(t *testing.T) {
	base := apptest.Start(t, `catalog:
  rules: [{ allow: [Component, API, Resource, System, Domain, Group, User, Location, Template] }]
atrium:
  demo: true
  allowedLocationTypes: [file, url]
`)
	e := &env{t: t, base: base}
	code, out := e.do("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/go-service",
		"values": map[string]any{"name": "parcel-br", "owner": "group:default/tracking-team", "publishTo": "gitlab"}}, nil)
	if code != 201 {
		t.Fatalf("creating the task: %d %s", code, out)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(out, &created)
	waitFor(t, func() bool {
		code, _ := e.do("GET", "/api/catalog/entities/by-name/component/default/parcel-br", nil, nil)
		return code == 200
	}, "the component")
	for _, width := range []int{1280, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browsertest.New(t, width, 900)
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := chromedp.Do(sctx, chromedp.Navigate(base+"/catalog/default/component/parcel-br"),
				chromedp.WaitVisible(`section.plugin-card[data-plugin="gitlab"]`)); err != nil {
				t.Fatalf("open the entity page: %v", err)
			}
			card := `document.querySelector('section.plugin-card[data-plugin="gitlab"]')`
			if got := browsertest.Eval[string](t, ctx, card+`.querySelector('h2').textContent`); got != "GitLab" {
				t.Errorf("card title = %q", got)
			}
			if got := browsertest.Eval[string](t, ctx, card+`.querySelector('dl').textContent`); !strings.Contains(got, "gitlab.simulated (simulated)") {
				t.Errorf("card properties = %q, want the simulated instance", got)
			}
			badge := browsertest.Eval[string](t, ctx, card+`.querySelector('.plugin-badges a').className`)
			if !strings.Contains(badge, "badge") {
				t.Errorf("pipeline badge class = %q", badge)
			}
			if href := browsertest.Eval[string](t, ctx, card+`.querySelector('.plugin-badges a').getAttribute('href')`); !strings.Contains(href, "/sim/gitlab/demo/parcel-br/-/pipelines/") {
				t.Errorf("pipeline link = %q", href)
			}
			if !browsertest.Eval[bool](t, ctx, card+`.querySelector('.prose') !== null && `+card+`.querySelector('.prose').textContent.includes('parcel-br')`) {
				t.Error("the README is not rendered in the card")
			}
			if !browsertest.Eval[bool](t, ctx, `(c => c.scrollWidth <= c.clientWidth + 1)(`+card+`)`) {
				t.Error("the card overflows")
			}
		})
	}
}
