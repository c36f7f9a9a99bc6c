package awx

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/awx"
	"github.com/atrium-portal/atrium/plugin"
)

// The annotations of imported templates and of entities showing the card.
const (
	// AnnotationJobTemplate lists job templates (names or ids, comma
	// separated; "workflow:" in front of a workflow job template) whose
	// recent jobs the Ansible jobs card shows.
	AnnotationJobTemplate = "ansible.com/job-template"
	// AnnotationController is the controller a template was imported from.
	AnnotationController = "ansible.com/controller"
)

// Provider imports job templates and workflow job templates as Resource
// entities of type ansible-job-template / ansible-workflow-template. An
// AWX label "atrium:<kind>:<name>" (or "atrium:<kind>:<namespace>/<name>")
// on a template makes it a dependencyOf that entity: the template shows
// among the entity's relations as a day-2 action.
type Provider struct{ p *Plugin }

var _ plugin.EntityProvider = (*Provider)(nil)

func (pr *Provider) Name() string { return "job-templates" }

func (pr *Provider) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	for {
		ents, err := pr.entities(ctx)
		if err != nil {
			return err
		}
		if err := emit(ctx, plugin.Mutation{Type: plugin.MutationFull, Entities: ents}); err != nil {
			return err
		}
		t := time.NewTimer(pr.p.refresh)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (pr *Provider) entities(ctx context.Context) ([]json.RawMessage, error) {
	var out []json.RawMessage
	for _, wf := range []bool{false, true} {
		ts, err := pr.p.client.Templates(ctx, wf)
		if err != nil {
			return nil, fmt.Errorf("listing AWX templates: %w", err)
		}
		for _, t := range ts {
			b, err := json.Marshal(pr.p.entity(t))
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
	}
	return out, nil
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// EntityName is the catalog name of template t: awx-jt-<id>-<slug> or
// awx-wf-<id>-<slug>, at most 63 characters.
func EntityName(t awx.Template) string {
	prefix := "awx-jt-"
	if t.Workflow() {
		prefix = "awx-wf-"
	}
	slug := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name), "-"), "-")
	n := fmt.Sprintf("%s%d-%s", prefix, t.ID, slug)
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return strings.TrimSuffix(n, "-")
}

var labelRef = regexp.MustCompile(`^atrium:([a-z]+):(?:([a-z0-9][a-z0-9._-]*)/)?([A-Za-z0-9][A-Za-z0-9._-]*)$`)

// entity is the catalog entity of template t.
func (p *Plugin) entity(t awx.Template) map[string]any {
	typ, ref := "ansible-job-template", strconv.Itoa(t.ID)
	if t.Workflow() {
		typ, ref = "ansible-workflow-template", "workflow:"+ref
	}
	loc := "url:" + p.templateURL(t)
	var deps []string
	for _, l := range t.Labels() {
		if m := labelRef.FindStringSubmatch(l); m != nil {
			ns := m[2]
			if ns == "" {
				ns = "default"
			}
			deps = append(deps, fmt.Sprintf("%s:%s/%s", m[1], ns, m[3]))
		}
	}
	title := "Open in AWX"
	if p.simulated {
		title = "Open in AWX (simulated)"
	}
	spec := map[string]any{"type": typ, "owner": p.cfg.Owner}
	if len(deps) > 0 {
		spec["dependencyOf"] = deps
	}
	tags := []string{"ansible", "awx"}
	if p.simulated {
		tags = append(tags, "simulated")
	}
	return map[string]any{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Resource",
		"metadata": map[string]any{
			"name":        EntityName(t),
			"title":       t.Name,
			"description": t.Description,
			"tags":        tags,
			"annotations": map[string]string{
				"backstage.io/managed-by-location":        loc,
				"backstage.io/managed-by-origin-location": loc,
				AnnotationJobTemplate:                     ref,
				AnnotationController:                      p.webBase,
			},
			"links": []map[string]string{{"url": p.templateURL(t), "title": title}},
		},
		"spec": spec,
	}
}
