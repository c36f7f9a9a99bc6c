package openshift

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/plugin"
)

// The entity annotations linking an entity to its workloads, as in
// Backstage's Kubernetes plugin.
const (
	// AnnotationKubernetesID selects backstage.io/kubernetes-id=<id>.
	AnnotationKubernetesID = "backstage.io/kubernetes-id"
	// AnnotationLabelSelector is a label selector; it wins over the id.
	AnnotationLabelSelector = "backstage.io/kubernetes-label-selector"
	// AnnotationNamespace limits the search to one namespace.
	AnnotationNamespace = "backstage.io/kubernetes-namespace"
)

// Card is the "Workloads" entity card. The plugin has two, one per
// annotation, since a card's selector cannot say "either"; an entity
// with both gets the label selector's card only (the id card defers).
type Card struct {
	p          *Plugin
	annotation string
}

var _ plugin.EntityCard = (*Card)(nil)

func (c *Card) ID() string {
	if c.annotation == AnnotationLabelSelector {
		return "workloads-by-selector"
	}
	return "workloads"
}

func (c *Card) Title() string    { return "Workloads" }
func (c *Card) Selector() string { return "metadata.annotations." + c.annotation }

// selector is the label selector an entity's annotations give, or "" when
// this card defers to the other one.
func (c *Card) selector(ann map[string]string) (string, error) {
	if c.annotation == AnnotationKubernetesID {
		if ann[AnnotationLabelSelector] != "" {
			return "", nil
		}
		id := strings.TrimSpace(ann[AnnotationKubernetesID])
		if id == "" {
			return "", plugin.Errorf(plugin.ErrInvalid, "annotation %s is empty", AnnotationKubernetesID)
		}
		sel := AnnotationKubernetesID + "=" + id
		if err := kube.ValidSelector(sel); err != nil {
			return "", plugin.Errorf(plugin.ErrInvalid, "annotation %s: %q is not a label value", AnnotationKubernetesID, id)
		}
		return sel, nil
	}
	sel := strings.TrimSpace(ann[AnnotationLabelSelector])
	if sel == "" {
		return "", plugin.Errorf(plugin.ErrInvalid, "annotation %s is empty", AnnotationLabelSelector)
	}
	if err := kube.ValidSelector(sel); err != nil {
		return "", plugin.Errorf(plugin.ErrInvalid, "annotation %s: %v", AnnotationLabelSelector, err)
	}
	return sel, nil
}

func (c *Card) Render(ctx context.Context, raw json.RawMessage) (plugin.View, error) {
	var e struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "entity: %v", err)
	}
	ens := e.Metadata.Namespace
	if ens == "" {
		ens = "default"
	}
	ref := strings.ToLower(e.Kind + ":" + ens + "/" + e.Metadata.Name)
	sel, err := c.selector(e.Metadata.Annotations)
	if err != nil {
		return plugin.View{}, err
	}
	if sel == "" {
		return plugin.View{Blocks: []plugin.Block{{Markdown: "Workloads are selected by the `" + AnnotationLabelSelector + "` annotation: see the other Workloads card."}}}, nil
	}
	if len(c.p.clusters) == 0 {
		return plugin.View{}, plugin.Errorf(plugin.ErrUnavailable, "no cluster is configured: set plugins.openshift.config.clusters")
	}
	ns := strings.TrimSpace(e.Metadata.Annotations[AnnotationNamespace])
	results := make([]clusterResult, len(c.p.clusters))
	var wg sync.WaitGroup
	for i, cl := range c.p.clusters {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, c.p.cardTimeout)
			defer cancel()
			var w kube.Workloads
			// Not the card's goroutine: a panic here would escape the
			// host's guard of Render; it fails this cluster's part.
			err := guard.Call(c.p.log, ID, "card workloads: cluster "+cl.cfg.Name, func() (err error) {
				if cl.live != nil {
					// From the cluster's informers: no API call once the
					// scope is watched, and the page is told when it changes.
					w, err = cl.live.Workloads(cctx, sel, ns, ref)
				} else {
					w, err = cl.client.Workloads(cctx, sel, ns)
				}
				return err
			})
			results[i] = clusterResult{c: cl, w: w, err: err}
		})
	}
	wg.Wait()
	v := plugin.View{}
	head := []plugin.Badge{}
	if c.p.simulated {
		head = append(head, plugin.Badge{Label: "simulated OpenShift", Status: plugin.StatusWarning})
	}
	head = append(head, plugin.Badge{Label: "selector " + sel, Status: plugin.StatusUnknown})
	if len(c.p.clusters) > 0 && c.p.clusters[0].live != nil {
		head = append(head, plugin.Badge{Label: "live", Status: plugin.StatusUnknown})
	}
	v.Blocks = append(v.Blocks, plugin.Block{Badges: head})
	found := false
	for _, r := range results {
		if r.err != nil {
			v.Blocks = append(v.Blocks, plugin.Block{KeyValues: []plugin.KeyValue{{Key: "Cluster " + r.c.cfg.Name, Value: r.c.client.Describe(r.err)}}})
			continue
		}
		if r.w.Empty() {
			continue
		}
		found = true
		v.Blocks = append(v.Blocks, c.clusterBlocks(r)...)
	}
	if !found {
		v.Blocks = append(v.Blocks, plugin.Block{Markdown: fmt.Sprintf("No workloads match `%s` on %d cluster(s).", sel, len(c.p.clusters))})
	}
	return v, nil
}

type clusterResult struct {
	c   cluster
	w   kube.Workloads
	err error
}

func (c *Card) clusterBlocks(r clusterResult) []plugin.Block {
	kv := plugin.KeyValue{Key: "Cluster", Value: r.c.cfg.Name + " (" + r.c.cfg.Kind + ")"}
	if r.c.cfg.ConsoleURL != "" {
		kv.Href = r.c.cfg.ConsoleURL
	}
	blocks := []plugin.Block{{KeyValues: []plugin.KeyValue{kv}}}
	var badges []plugin.Badge
	if len(r.w.Deployments) > 0 {
		t := &plugin.Table{Columns: []string{"Deployment", "Namespace", "Ready", "Rollout"}}
		for _, d := range r.w.Deployments {
			badges = append(badges, plugin.Badge{Label: fmt.Sprintf("%s %d/%d", d.Name, d.Ready, d.Desired), Status: statusOf(d.Health)})
			t.Rows = append(t.Rows, []string{d.Name, d.Namespace, fmt.Sprintf("%d/%d", d.Ready, d.Desired), d.Rollout})
		}
		blocks = append(blocks, plugin.Block{Badges: badges}, plugin.Block{Table: t})
	}
	if len(r.w.Pods) > 0 {
		t := &plugin.Table{Columns: []string{"Pod", "Namespace", "Phase", "Restarts"}}
		for _, p := range r.w.Pods {
			phase := p.Phase
			if p.Reason != "" {
				phase += " (" + p.Reason + ")"
			}
			t.Rows = append(t.Rows, []string{p.Name, p.Namespace, phase, strconv.FormatInt(p.Restarts, 10)})
		}
		blocks = append(blocks, plugin.Block{Table: t})
	}
	if len(r.w.Services) > 0 {
		t := &plugin.Table{Columns: []string{"Service", "Namespace", "Type", "Cluster IP", "Ports"}}
		for _, s := range r.w.Services {
			t.Rows = append(t.Rows, []string{s.Name, s.Namespace, s.Type, s.ClusterIP, strings.Join(s.Ports, ", ")})
		}
		blocks = append(blocks, plugin.Block{Table: t})
	}
	if len(r.w.Routes) > 0 {
		var links []plugin.Link
		for _, rt := range r.w.Routes {
			if rt.Host == "" {
				continue
			}
			scheme := "http://"
			if rt.TLS {
				scheme = "https://"
			}
			title := "Route " + rt.Name + ": " + rt.Host
			if !rt.Admitted {
				title += " (not admitted)"
			}
			links = append(links, plugin.Link{Title: title, URL: scheme + rt.Host})
		}
		if links != nil {
			blocks = append(blocks, plugin.Block{Links: links})
		}
	}
	return blocks
}

func statusOf(h kube.Health) plugin.Status {
	switch h {
	case kube.Healthy:
		return plugin.StatusOK
	case kube.Progressing:
		return plugin.StatusPending
	case kube.Degraded:
		return plugin.StatusError
	}
	return plugin.StatusUnknown
}
