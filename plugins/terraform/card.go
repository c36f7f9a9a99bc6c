package terraform

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/atrium-portal/atrium/plugin"
)

// AnnotationWorkspace names an entity's workspace: "org/name", or "name"
// in plugins.terraform.config.organization.
const AnnotationWorkspace = "terraform.io/workspace"

// Card is the "Terraform" entity card: the workspace's latest runs and
// its current outputs (sensitive ones masked).
type Card struct{ p *Plugin }

var _ plugin.EntityCard = (*Card)(nil)

func (c *Card) ID() string       { return "runs" }
func (c *Card) Title() string    { return "Terraform" }
func (c *Card) Selector() string { return "metadata.annotations." + AnnotationWorkspace }

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
	ref := strings.TrimSpace(e.Metadata.Annotations[AnnotationWorkspace])
	org, name, ok := strings.Cut(ref, "/")
	if !ok {
		org, name = c.p.cfg.Organization, ref
	}
	if org == "" || name == "" {
		return plugin.View{}, plugin.Errorf(plugin.ErrInvalid, "annotation %s: %q must be <organization>/<workspace> (no default organization is configured)", AnnotationWorkspace, ref)
	}
	ws, err := client.Workspace(ctx, org, name)
	if err != nil {
		return plugin.View{}, fault(err, "annotation "+AnnotationWorkspace)
	}
	var v plugin.View
	if c.p.simulated {
		v.Blocks = append(v.Blocks, plugin.Block{Badges: []plugin.Badge{{Label: "simulated Terraform", Status: plugin.StatusWarning}}})
	}
	wsURL := client.WorkspaceURL(org, name)
	if c.p.simulated {
		wsURL = strings.TrimSuffix(client.Address(), "/") + "/api/v2/organizations/" + org + "/workspaces/" + name
	}
	v.Blocks = append(v.Blocks, plugin.Block{KeyValues: []plugin.KeyValue{
		{Key: "Workspace", Value: org + "/" + name, Href: wsURL},
		{Key: "Execution mode", Value: ws.ExecutionMode},
		{Key: "Auto-apply", Value: fmt.Sprint(ws.AutoApply)},
	}})
	runs, err := client.Runs(ctx, ws.ID, c.p.cfg.RecentRuns)
	if err != nil {
		return plugin.View{}, fault(err, "listing runs")
	}
	if len(runs) == 0 {
		v.Blocks = append(v.Blocks, plugin.Block{Markdown: "No runs yet."})
	} else {
		var badges []plugin.Badge
		tbl := &plugin.Table{Columns: []string{"Run", "Status", "Created", "Message", "Plan"}}
		for _, r := range runs {
			url := client.RunURL(org, name, r.ID)
			if c.p.simulated {
				url = strings.TrimSuffix(client.Address(), "/") + "/api/v2/runs/" + r.ID
			}
			badges = append(badges, plugin.Badge{Label: r.ID + " " + string(r.Status), Status: statusOf(r.Status), Href: url})
			plan := ""
			if r.Plan != nil {
				plan = fmt.Sprintf("+%d ~%d -%d", r.Plan.ResourceAdditions, r.Plan.ResourceChanges, r.Plan.ResourceDestructions)
			}
			tbl.Rows = append(tbl.Rows, []string{r.ID, string(r.Status), r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), r.Message, plan})
		}
		v.Blocks = append(v.Blocks, plugin.Block{Badges: badges}, plugin.Block{Table: tbl})
	}
	outs, err := client.Outputs(ctx, ws.ID)
	if err != nil {
		return plugin.View{}, fault(err, "reading outputs")
	}
	if len(outs) > 0 {
		var kvs []plugin.KeyValue
		for _, o := range outs {
			val := "•••••• (sensitive)"
			if !o.Sensitive {
				b, _ := json.Marshal(o.Value)
				val = strings.Trim(string(b), `"`)
			}
			kvs = append(kvs, plugin.KeyValue{Key: "output " + o.Name, Value: val})
		}
		v.Blocks = append(v.Blocks, plugin.Block{KeyValues: kvs})
	}
	return v, nil
}

func statusOf(s tfe.RunStatus) plugin.Status {
	switch s {
	case tfe.RunApplied, tfe.RunPlannedAndFinished, tfe.RunPlannedAndSaved:
		return plugin.StatusOK
	case tfe.RunErrored:
		return plugin.StatusError
	case tfe.RunCanceled, tfe.RunDiscarded, tfe.RunPolicySoftFailed, tfe.RunPolicyOverride:
		return plugin.StatusWarning
	case "":
		return plugin.StatusUnknown
	}
	return plugin.StatusPending
}
