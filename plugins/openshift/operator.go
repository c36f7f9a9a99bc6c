package openshift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
	"github.com/atrium-portal/atrium/plugin"
)

// SubscribeAction is openshift:operator:subscribe.
type SubscribeAction struct{ p *Plugin }

var _ plugin.Action = (*SubscribeAction)(nil)

func (a *SubscribeAction) ID() string { return "openshift:operator:subscribe" }

func (a *SubscribeAction) Description() string {
	return "Subscribes a namespace to an OLM operator (OperatorGroup + Subscription) and follows its InstallPlan and CSV until the CSV has Succeeded."
}

func (a *SubscribeAction) Schema() (json.RawMessage, json.RawMessage) {
	return json.RawMessage(`{
  "type": "object",
  "required": ["package", "source"],
  "additionalProperties": false,
  "properties": {
    "package": {"type": "string", "minLength": 1, "description": "the operator's package name in its catalog"},
    "channel": {"type": "string", "description": "the channel (default: the package's default channel)"},
    "source": {"type": "string", "minLength": 1, "description": "the CatalogSource: redhat-operators, certified-operators, community-operators…"},
    "sourceNamespace": {"type": "string", "description": "the CatalogSource's namespace (default openshift-marketplace)"},
    "namespace": {"type": "string", "description": "where to install (default openshift-operators, all namespaces)"},
    "name": {"type": "string", "description": "the Subscription's name (default: the package)"},
    "startingCSV": {"type": "string", "description": "the version (CSV name) to install"},
    "approval": {"enum": ["Automatic", "Manual"], "description": "installPlanApproval (default Automatic)"},
    "approve": {"type": "boolean", "description": "approve a Manual InstallPlan (else the step fails when one waits)"},
    "timeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$", "description": "how long to wait for the CSV (default 10m)"},
    "cluster": {"type": "string", "description": "the cluster's name in plugins.openshift.config.clusters (default: the first)"}
  }
}`), json.RawMessage(`{
  "type": "object",
  "properties": {
    "csv": {"type": "string"},
    "phase": {"type": "string"},
    "installPlan": {"type": "string"},
    "namespace": {"type": "string"}
  }
}`)
}

func (a *SubscribeAction) Run(ctx context.Context, req plugin.ActionRequest, rep plugin.ActionReporter) (err error) {
	in := req.Input
	clusterName, _ := in["cluster"].(string)
	c, err := a.p.cluster(clusterName)
	if err != nil {
		return err
	}
	s := kube.Subscription{Namespace: kube.GlobalOperatorsNamespace}
	s.Package, _ = in["package"].(string)
	s.Channel, _ = in["channel"].(string)
	s.Source, _ = in["source"].(string)
	s.SourceNamespace, _ = in["sourceNamespace"].(string)
	s.Name, _ = in["name"].(string)
	s.StartingCSV, _ = in["startingCSV"].(string)
	if v, _ := in["namespace"].(string); v != "" {
		s.Namespace = v
	}
	if s.Name == "" {
		s.Name = s.Package
	}
	for field, v := range map[string]string{"package": s.Package, "namespace": s.Namespace, "name": s.Name} {
		if err := kube.ValidName(v); err != nil {
			return plugin.Errorf(plugin.ErrInvalid, "input.%s: %v", field, err)
		}
	}
	if s.Source == "" {
		return plugin.Errorf(plugin.ErrInvalid, "input.source: required, the CatalogSource (e.g. redhat-operators)")
	}
	approval, _ := in["approval"].(string)
	s.Manual = approval == "Manual"
	approve, _ := in["approve"].(bool)
	timeout := 10 * time.Minute
	if v, _ := in["timeout"].(string); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %q is not a positive duration such as 10m", v)
		}
		if d > a.p.maxOpWait {
			return plugin.Errorf(plugin.ErrInvalid, "input.timeout: %s is over the limit of %s (plugins.openshift.config.maxOperatorTimeout)", d, a.p.maxOpWait)
		}
		timeout = d
	}
	rep.Output("namespace", s.Namespace)
	if req.DryRun {
		rep.Log("info", fmt.Sprintf("dry run: would subscribe %s to the operator %s (%s, channel %q) on %s", s.Namespace, s.Package, s.Source, s.Channel, a.p.where(c)))
		return nil
	}
	step := installOperation(req, c.cfg.Name)
	var op operation
	if _, resumed := step.Resume(ctx, &op); resumed && op.Subscription != "" && op.Cluster == c.cfg.Name {
		rep.Log("info", fmt.Sprintf("resuming the installation of %s/%s (subscribed before Atrium restarted)", op.Namespace, op.Subscription))
	} else {
		if err := c.client.Subscribe(ctx, s); err != nil {
			return fault(c, err, "subscribing to "+s.Package)
		}
		rep.Log("info", fmt.Sprintf("subscribed %s to %s from %s (approval %s) on %s", s.Namespace, s.Package, s.Source, map[bool]string{true: "Manual", false: "Automatic"}[s.Manual], a.p.where(c)))
		if err := step.Save(ctx, s.Namespace+"/"+s.Name, "", operation{Cluster: c.cfg.Name, Namespace: s.Namespace, Subscription: s.Name}); err != nil {
			rep.Log("warn", "the installation cannot be resumed after a restart: saving its resume token: "+err.Error())
		}
	}
	detached := false
	defer func() {
		if !detached {
			step.End(ctx, err)
		}
	}()
	rep.Progress(20, "subscribed")
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := c.client.FollowInstall(fctx, s.Namespace, s.Name, approve, a.p.poll, func(st kube.InstallState) {
		rep.Log("info", st.String())
		pct := 30
		switch {
		case st.CSVPhase != "":
			pct = 80
		case st.PlanPhase == "Installing":
			pct = 60
		}
		rep.Progress(pct, st.String())
	})
	rep.Output("installPlan", st.InstallPlan)
	rep.Output("csv", st.CSV)
	rep.Output("phase", st.CSVPhase)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			detached = !plugin.Abandoned(ctx)
			return err
		case fctx.Err() != nil:
			return plugin.Errorf(plugin.ErrUnavailable, "the operator %s was not installed within %s (input.timeout): %s", s.Package, timeout, st)
		case errors.Is(err, kube.ErrNeedsApproval):
			return plugin.Errorf(plugin.ErrConflict, "%v", err)
		case kube.StatusOf(err) != 0:
			return fault(c, err, "following the installation of "+s.Package)
		}
		return plugin.Errorf(plugin.ErrConflict, "on %s: %v", a.p.where(c), err)
	}
	rep.Log("info", fmt.Sprintf("operator %s installed: CSV %s Succeeded", s.Package, st.CSV))
	return nil
}
