package awx

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/awx"
	"github.com/atrium-portal/atrium/plugin"
)

// Card is the "Ansible jobs" entity card: the recent jobs of the
// templates named by the entity's ansible.com/job-template annotation.
type Card struct{ p *Plugin }

var _ plugin.EntityCard = (*Card)(nil)

func (c *Card) ID() string       { return "jobs" }
func (c *Card) Title() string    { return "Ansible jobs" }
func (c *Card) Selector() string { return "metadata.annotations." + AnnotationJobTemplate }

// maxTemplates bounds how many templates one card shows.
const maxTemplates = 5

func (c *Card) Render(ctx context.Context, raw json.RawMessage) (plugin.View, error) {
	var e struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "entity: %v", err)
	}
	client, err := c.p.ready()
	if err != nil {
		return plugin.View{}, err
	}
	var refs []string
	for r := range strings.SplitSeq(e.Metadata.Annotations[AnnotationJobTemplate], ",") {
		if r = strings.TrimSpace(r); r != "" {
			refs = append(refs, r)
		}
	}
	if len(refs) == 0 {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "annotation %s is empty: name job templates (names or ids, comma separated)", AnnotationJobTemplate)
	}
	var v plugin.View
	if c.p.simulated {
		v.Blocks = append(v.Blocks, plugin.Block{Badges: []plugin.Badge{{Label: "simulated AWX", Status: plugin.StatusWarning}}})
	}
	if len(refs) > maxTemplates {
		v.Blocks = append(v.Blocks, plugin.Block{Markdown: fmt.Sprintf("Showing the first %d of %d templates named in `%s`.", maxTemplates, len(refs), AnnotationJobTemplate)})
		refs = refs[:maxTemplates]
	}
	for _, r := range refs {
		name, workflow := strings.CutPrefix(r, "workflow:")
		t, err := client.Template(ctx, name, workflow)
		if err != nil {
			v.Blocks = append(v.Blocks, plugin.Block{KeyValues: []plugin.KeyValue{{Key: r, Value: err.Error()}}})
			continue
		}
		jobs, err := client.RecentJobs(ctx, t, c.p.cfg.RecentJobs)
		if err != nil {
			v.Blocks = append(v.Blocks, plugin.Block{KeyValues: []plugin.KeyValue{{Key: t.Name, Value: err.Error()}}})
			continue
		}
		v.Blocks = append(v.Blocks, plugin.Block{Links: []plugin.Link{{Title: t.Name, URL: c.p.templateURL(t)}}})
		if len(jobs) == 0 {
			v.Blocks = append(v.Blocks, plugin.Block{Markdown: "No jobs yet."})
			continue
		}
		var badges []plugin.Badge
		tbl := &plugin.Table{Columns: []string{"Job", "Status", "Started", "Duration", "Launched by"}}
		for _, j := range jobs {
			badges = append(badges, plugin.Badge{Label: fmt.Sprintf("#%d %s", j.ID, j.Status), Status: statusOf(j.Status), Href: c.p.jobURL(j)})
			started := "—"
			if j.Started != nil {
				started = j.Started.UTC().Format("2006-01-02 15:04:05")
			}
			tbl.Rows = append(tbl.Rows, []string{fmt.Sprintf("#%d", j.ID), j.Status, started, duration(j), j.LaunchedBy.Name})
		}
		v.Blocks = append(v.Blocks, plugin.Block{Badges: badges}, plugin.Block{Table: tbl})
	}
	return v, nil
}

func statusOf(s string) plugin.Status {
	switch s {
	case "successful":
		return plugin.StatusOK
	case "failed", "error":
		return plugin.StatusError
	case "canceled":
		return plugin.StatusWarning
	case "pending", "waiting", "running", "new":
		return plugin.StatusPending
	}
	return plugin.StatusUnknown
}

func duration(j awx.Job) string {
	switch {
	case j.Elapsed > 0:
		return (time.Duration(j.Elapsed * float64(time.Second))).Round(100 * time.Millisecond).String()
	case j.Started != nil && j.Finished == nil:
		return "running"
	}
	return "—"
}
