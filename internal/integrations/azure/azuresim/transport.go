package azuresim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3"
	costfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/costmanagement/armcostmanagement/v3/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"
	depfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	resfake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3/fake"
)

// Credential is the fake token credential the simulator accepts.
func Credential() azcore.TokenCredential { return &azfake.TokenCredential{} }

// Transport returns the transport to give the real clients
// (ClientOptions.Transport): requests reach the SDK's fake servers,
// which answer from the store.
func (s *Sim) Transport() policy.Transporter {
	return &transport{
		s:     s,
		res:   resfake.NewServerFactoryTransport(&resfake.ServerFactory{ResourceGroupsServer: s.groupsServer(), Server: s.resourcesServer()}),
		deps:  depfake.NewServerFactoryTransport(&depfake.ServerFactory{DeploymentsServer: s.deploymentsServer()}),
		costs: costfake.NewServerFactoryTransport(&costfake.ServerFactory{QueryServer: s.queryServer()}),
	}
}

type transport struct {
	s                *Sim
	res, deps, costs policy.Transporter
}

const fakePollSuffix = "/get/fake/status"

func (t *transport) Do(req *http.Request) (*http.Response, error) {
	path := strings.ToLower(req.URL.Path)
	if !strings.HasPrefix(path, "/subscriptions/"+strings.ToLower(t.s.SubscriptionID)+"/") {
		return jsonResponse(req, http.StatusNotFound, errorBody("SubscriptionNotFound", fmt.Sprintf("The subscription of %s is not the simulated subscription %s.", req.URL.Path, t.s.SubscriptionID)), nil), nil
	}
	switch {
	case strings.Contains(path, "/providers/microsoft.costmanagement/"):
		return t.s.costQuery(req, t.costs)
	case strings.Contains(path, "/providers/microsoft.resources/deployments/"):
		if strings.HasSuffix(path, fakePollSuffix) && !strings.Contains(path, "/whatif") {
			return t.s.pollDeployment(req)
		}
		if req.Method == http.MethodPut || strings.HasSuffix(path, "/whatif") {
			if resp := t.s.validateDeployment(req); resp != nil {
				return resp, nil
			}
		}
		return t.deps.Do(req)
	}
	return t.res.Do(req)
}

func errorBody(code, message string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": message}}
}

func jsonResponse(req *http.Request, status int, body any, header http.Header) *http.Response {
	b, _ := json.Marshal(body)
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range header {
		h[k] = v
	}
	if m, ok := body.(map[string]any); ok {
		if e, ok := m["error"].(map[string]any); ok {
			h.Set("x-ms-error-code", fmt.Sprint(e["code"]))
		}
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Body: io.NopCloser(bytes.NewReader(b)), Request: req, ContentLength: int64(len(b))}
}

func (s *Sim) groupsServer() resfake.ResourceGroupsServer {
	toARM := func(g *Group) armresources.ResourceGroup {
		tags := map[string]*string{}
		for k, v := range g.Tags {
			tags[k] = to.Ptr(v)
		}
		return armresources.ResourceGroup{ID: to.Ptr(g.ID), Name: to.Ptr(g.Name), Location: to.Ptr(g.Location), Tags: tags,
			Type: to.Ptr("Microsoft.Resources/resourceGroups"), Properties: &armresources.ResourceGroupProperties{ProvisioningState: to.Ptr("Succeeded")}}
	}
	return resfake.ResourceGroupsServer{
		Get: func(_ context.Context, name string, _ *armresources.ResourceGroupsClientGetOptions) (resp azfake.Responder[armresources.ResourceGroupsClientGetResponse], errResp azfake.ErrorResponder) {
			g := s.Group(name)
			if g == nil {
				errResp.SetResponseError(http.StatusNotFound, "ResourceGroupNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armresources.ResourceGroupsClientGetResponse{ResourceGroup: toARM(g)}, nil)
			return
		},
		CheckExistence: func(_ context.Context, name string, _ *armresources.ResourceGroupsClientCheckExistenceOptions) (resp azfake.Responder[armresources.ResourceGroupsClientCheckExistenceResponse], errResp azfake.ErrorResponder) {
			if s.Group(name) == nil {
				resp.SetResponse(http.StatusNotFound, armresources.ResourceGroupsClientCheckExistenceResponse{Success: false}, nil)
				return
			}
			resp.SetResponse(http.StatusNoContent, armresources.ResourceGroupsClientCheckExistenceResponse{Success: true}, nil)
			return
		},
		CreateOrUpdate: func(_ context.Context, name string, p armresources.ResourceGroup, _ *armresources.ResourceGroupsClientCreateOrUpdateOptions) (resp azfake.Responder[armresources.ResourceGroupsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			if p.Location == nil || *p.Location == "" {
				errResp.SetResponseError(http.StatusBadRequest, "LocationRequired")
				return
			}
			s.mu.Lock()
			cur := s.groups[strings.ToLower(name)]
			if cur != nil && !strings.EqualFold(cur.Location, *p.Location) {
				s.mu.Unlock()
				errResp.SetResponseError(http.StatusConflict, "InvalidResourceGroupLocation")
				return
			}
			status := http.StatusCreated
			if cur != nil {
				status = http.StatusOK
			}
			tags := map[string]string{}
			for k, v := range p.Tags {
				if v != nil {
					tags[k] = *v
				}
			}
			g := *s.putGroupLocked(name, *p.Location, tags)
			s.mu.Unlock()
			resp.SetResponse(status, armresources.ResourceGroupsClientCreateOrUpdateResponse{ResourceGroup: toARM(&g)}, nil)
			return
		},
		NewListPager: func(_ *armresources.ResourceGroupsClientListOptions) (resp azfake.PagerResponder[armresources.ResourceGroupsClientListResponse]) {
			s.mu.Lock()
			var list []*armresources.ResourceGroup
			for _, g := range s.groups {
				rg := toARM(g)
				list = append(list, &rg)
			}
			s.mu.Unlock()
			resp.AddPage(http.StatusOK, armresources.ResourceGroupsClientListResponse{ResourceGroupListResult: armresources.ResourceGroupListResult{Value: list}}, nil)
			return
		},
	}
}

func (s *Sim) resourcesServer() resfake.Server {
	return resfake.Server{
		NewListByResourceGroupPager: func(group string, _ *armresources.ClientListByResourceGroupOptions) (resp azfake.PagerResponder[armresources.ClientListByResourceGroupResponse]) {
			if s.Group(group) == nil {
				resp.AddResponseError(http.StatusNotFound, "ResourceGroupNotFound")
				return
			}
			all := s.Resources(group)
			size := s.PageSize
			if size <= 0 {
				size = 50
			}
			for start := 0; start < len(all) || start == 0; start += size {
				end := min(start+size, len(all))
				var page []*armresources.GenericResourceExpanded
				for _, r := range all[start:end] {
					page = append(page, &armresources.GenericResourceExpanded{ID: to.Ptr(r.ID), Name: to.Ptr(r.Name), Type: to.Ptr(r.Type),
						Location: to.Ptr(r.Location), ProvisioningState: to.Ptr("Succeeded")})
				}
				resp.AddPage(http.StatusOK, armresources.ClientListByResourceGroupResponse{ResourceListResult: armresources.ResourceListResult{Value: page}}, nil)
				if end >= len(all) {
					break
				}
			}
			return
		},
	}
}

// deploymentOf is the ARM view of a deployment at the current time.
func (s *Sim) deploymentOfLocked(d *Deployment) armdeployments.DeploymentExtended {
	state := s.provisioningStateLocked(d)
	p := &armdeployments.DeploymentPropertiesExtended{
		ProvisioningState: to.Ptr(armdeployments.ProvisioningState(state)),
		Mode:              to.Ptr(armdeployments.DeploymentModeIncremental),
		Timestamp:         to.Ptr(d.Started),
	}
	switch state {
	case "Succeeded":
		outs := map[string]any{}
		for k, v := range d.Outputs {
			outs[k] = map[string]any{"type": typeOf(v), "value": v}
		}
		p.Outputs = outs
		for _, r := range d.Resources {
			p.OutputResources = append(p.OutputResources, &armdeployments.ResourceReference{ID: to.Ptr(r.ID)})
		}
	case "Failed":
		p.Error = &armdeployments.ErrorResponse{Code: to.Ptr("DeploymentFailed"), Message: to.Ptr(d.FailReason)}
	case "Canceled":
		p.Error = &armdeployments.ErrorResponse{Code: to.Ptr("DeploymentCanceled"), Message: to.Ptr("The deployment was cancelled.")}
	}
	tags := map[string]*string{}
	for k, v := range d.Tags {
		tags[k] = to.Ptr(v)
	}
	return armdeployments.DeploymentExtended{
		ID:   to.Ptr(s.groupID(d.Group) + "/providers/Microsoft.Resources/deployments/" + d.Name),
		Name: to.Ptr(d.Name), Type: to.Ptr("Microsoft.Resources/deployments"), Properties: p, Tags: tags,
	}
}

func typeOf(v any) string {
	switch v.(type) {
	case string:
		return "String"
	case float64:
		return "Int"
	case bool:
		return "Bool"
	case []any:
		return "Array"
	}
	return "Object"
}

func (s *Sim) deploymentsServer() depfake.DeploymentsServer {
	return depfake.DeploymentsServer{
		BeginCreateOrUpdate: func(_ context.Context, group, name string, p armdeployments.Deployment, _ *armdeployments.DeploymentsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armdeployments.DeploymentsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			s.mu.Lock()
			defer s.mu.Unlock()
			g := s.groups[strings.ToLower(group)]
			if g == nil {
				errResp.SetResponseError(http.StatusNotFound, "ResourceGroupNotFound")
				return
			}
			if cur := s.deployments[depKey(group, name)]; cur != nil {
				if st := s.provisioningStateLocked(cur); st == "Accepted" || st == "Running" {
					errResp.SetResponseError(http.StatusConflict, "DeploymentActive")
					return
				}
			}
			d, err := s.plan(g, name, p)
			if err != nil {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidTemplate")
				return
			}
			s.deployments[depKey(group, name)] = d
			s.deploys++
			s.saveLocked()
			// Only the first answer comes from the responder; polls are
			// answered from the store (pollDeployment), so a deployment
			// can be followed by a later process from its resume token.
			resp.AddNonTerminalResponse(http.StatusCreated, nil)
			return
		},
		Cancel: func(_ context.Context, group, name string, _ *armdeployments.DeploymentsClientCancelOptions) (resp azfake.Responder[armdeployments.DeploymentsClientCancelResponse], errResp azfake.ErrorResponder) {
			s.mu.Lock()
			defer s.mu.Unlock()
			d := s.deployments[depKey(group, name)]
			if d == nil {
				errResp.SetResponseError(http.StatusNotFound, "DeploymentNotFound")
				return
			}
			if st := s.provisioningStateLocked(d); st != "Accepted" && st != "Running" {
				errResp.SetResponseError(http.StatusConflict, "DeploymentCannotBeCancelled")
				return
			}
			d.Canceled = true
			s.saveLocked()
			resp.SetResponse(http.StatusNoContent, armdeployments.DeploymentsClientCancelResponse{}, nil)
			return
		},
		BeginWhatIf: func(_ context.Context, group, name string, p armdeployments.DeploymentWhatIf, _ *armdeployments.DeploymentsClientBeginWhatIfOptions) (resp azfake.PollerResponder[armdeployments.DeploymentsClientWhatIfResponse], errResp azfake.ErrorResponder) {
			s.mu.Lock()
			defer s.mu.Unlock()
			g := s.groups[strings.ToLower(group)]
			if g == nil {
				errResp.SetResponseError(http.StatusNotFound, "ResourceGroupNotFound")
				return
			}
			var props *armdeployments.DeploymentProperties
			if p.Properties != nil {
				props = &armdeployments.DeploymentProperties{Template: p.Properties.Template, Parameters: p.Properties.Parameters}
			}
			d, err := s.plan(g, name, armdeployments.Deployment{Properties: props})
			if err != nil {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidTemplate")
				return
			}
			var changes []*armdeployments.WhatIfChange
			for _, r := range d.Resources {
				ct := armdeployments.ChangeTypeCreate
				if s.resources[strings.ToLower(r.ID)] != nil {
					ct = armdeployments.ChangeTypeNoChange
				}
				changes = append(changes, &armdeployments.WhatIfChange{ResourceID: to.Ptr(r.ID), ChangeType: to.Ptr(ct)})
			}
			resp.AddNonTerminalResponse(http.StatusAccepted, nil)
			resp.SetTerminalResponse(http.StatusOK, armdeployments.DeploymentsClientWhatIfResponse{WhatIfOperationResult: armdeployments.WhatIfOperationResult{
				Status: to.Ptr("Succeeded"), Properties: &armdeployments.WhatIfOperationProperties{Changes: changes},
			}}, nil)
			return
		},
		Get: func(_ context.Context, group, name string, _ *armdeployments.DeploymentsClientGetOptions) (resp azfake.Responder[armdeployments.DeploymentsClientGetResponse], errResp azfake.ErrorResponder) {
			s.mu.Lock()
			defer s.mu.Unlock()
			d := s.deployments[depKey(group, name)]
			if d == nil {
				errResp.SetResponseError(http.StatusNotFound, "DeploymentNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armdeployments.DeploymentsClientGetResponse{DeploymentExtended: s.deploymentOfLocked(d)}, nil)
			return
		},
	}
}

// validateDeployment answers a deployment PUT whose template cannot be
// deployed with ARM's 400 InvalidTemplate and a message (the fake
// servers' errors carry no message).
func (s *Sim) validateDeployment(req *http.Request) *http.Response {
	if req.Body == nil {
		return nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	var p armdeployments.Deployment
	if err := json.Unmarshal(b, &p); err != nil {
		return jsonResponse(req, http.StatusBadRequest, errorBody("InvalidRequestContent", "The request content is not valid JSON: "+err.Error()), nil)
	}
	parts := strings.Split(req.URL.Path, "/")
	if len(parts) < 9 {
		return nil
	}
	group, name := parts[4], parts[8]
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[strings.ToLower(group)]
	if g == nil {
		return nil // the fake server answers 404
	}
	if _, err := s.plan(g, name, p); err != nil {
		return jsonResponse(req, http.StatusBadRequest, errorBody("InvalidTemplate", "Deployment template validation failed: "+err.Error()), nil)
	}
	return nil
}

// plan evaluates a deployment's template: its parameters, variables,
// resources and outputs.
func (s *Sim) plan(g *Group, name string, p armdeployments.Deployment) (*Deployment, error) {
	if p.Properties == nil {
		return nil, fmt.Errorf("properties are required")
	}
	tpl, ok := p.Properties.Template.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template must be a JSON object (templateLink is not supported by the simulator)")
	}
	sc := &scope{params: map[string]any{}, vars: map[string]any{}, group: g, sub: s.SubscriptionID}
	declared, _ := tpl["parameters"].(map[string]any)
	for pname := range p.Properties.Parameters {
		if _, ok := declared[pname]; !ok {
			return nil, fmt.Errorf("the parameter '%s' is given but not declared by the template", pname)
		}
	}
	for pname, decl := range declared {
		if given, ok := p.Properties.Parameters[pname]; ok && given != nil {
			sc.params[pname] = given.Value
			continue
		}
		dm, _ := decl.(map[string]any)
		def, ok := dm["defaultValue"]
		if !ok {
			return nil, fmt.Errorf("the value for the template parameter '%s' is not provided", pname)
		}
		v, err := sc.eval(def)
		if err != nil {
			return nil, fmt.Errorf("parameter '%s': %v", pname, err)
		}
		sc.params[pname] = v
	}
	if vars, ok := tpl["variables"].(map[string]any); ok {
		for k, v := range vars {
			e, err := sc.eval(v)
			if err != nil {
				return nil, fmt.Errorf("variable '%s': %v", k, err)
			}
			sc.vars[k] = e
		}
	}
	rawRes, ok := tpl["resources"].([]any)
	if !ok {
		return nil, fmt.Errorf("the template has no resources array")
	}
	d := &Deployment{Group: g.Name, Name: name, Started: s.now().UTC(), Outputs: map[string]any{}}
	for k, v := range p.Tags {
		if v != nil {
			if d.Tags == nil {
				d.Tags = map[string]string{}
			}
			d.Tags[k] = *v
		}
	}
	for i, raw := range rawRes {
		rm, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resources[%d] is not an object", i)
		}
		ev, err := sc.eval(rm)
		if err != nil {
			return nil, fmt.Errorf("resources[%d]: %v", i, err)
		}
		em := ev.(map[string]any)
		typ, _ := em["type"].(string)
		rname, _ := em["name"].(string)
		if typ == "" || rname == "" {
			return nil, fmt.Errorf("resources[%d] needs a type and a name", i)
		}
		loc, _ := em["location"].(string)
		if loc == "" {
			loc = g.Location
		}
		if strings.EqualFold(typ, FailureType) {
			reason, _ := em["properties"].(map[string]any)["message"].(string)
			if reason == "" {
				reason = "the simulated resource " + rname + " failed to provision"
			}
			d.FailReason = reason
			continue
		}
		d.Resources = append(d.Resources, Resource{ID: s.groupID(g.Name) + "/providers/" + typ + "/" + rname, Name: rname, Type: typ, Location: loc, Group: g.Name})
	}
	if outs, ok := tpl["outputs"].(map[string]any); ok {
		for k, v := range outs {
			om, _ := v.(map[string]any)
			e, err := sc.eval(om["value"])
			if err != nil {
				return nil, fmt.Errorf("output '%s': %v", k, err)
			}
			d.Outputs[k] = e
		}
	}
	return d, nil
}

// pollDeployment answers a poll of a deployment's long-running operation
// (the fake poller's status URL) from the store.
func (s *Sim) pollDeployment(req *http.Request) (*http.Response, error) {
	path := strings.TrimSuffix(req.URL.Path, fakePollSuffix)
	parts := strings.Split(path, "/")
	if len(parts) < 9 {
		return jsonResponse(req, http.StatusNotFound, errorBody("NotFound", "no such operation"), nil), nil
	}
	group, name := parts[4], parts[len(parts)-1]
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deployments[depKey(group, name)]
	if d == nil {
		return jsonResponse(req, http.StatusNotFound, errorBody("DeploymentNotFound", "Deployment "+name+" could not be found."), nil), nil
	}
	ext := s.deploymentOfLocked(d)
	state := string(*ext.Properties.ProvisioningState)
	h := http.Header{"Fake-Poller-Status": {state}}
	switch state {
	case "Succeeded":
		return jsonResponse(req, http.StatusOK, ext, h), nil
	case "Failed":
		return jsonResponse(req, http.StatusOK, errorBody("DeploymentFailed", d.FailReason), h), nil
	case "Canceled":
		return jsonResponse(req, http.StatusOK, errorBody("DeploymentCanceled", "The deployment was cancelled."), h), nil
	}
	h.Set("Retry-After", "0")
	return jsonResponse(req, http.StatusOK, map[string]any{"status": state}, h), nil
}

func (s *Sim) queryServer() costfake.QueryServer {
	return costfake.QueryServer{
		Usage: func(_ context.Context, scope string, q armcostmanagement.QueryDefinition, _ *armcostmanagement.QueryClientUsageOptions) (resp azfake.Responder[armcostmanagement.QueryClientUsageResponse], errResp azfake.ErrorResponder) {
			parts := strings.Split(strings.Trim(scope, "/"), "/")
			group := ""
			switch {
			case len(parts) == 4 && strings.EqualFold(parts[2], "resourceGroups"):
				group = parts[3]
				if s.Group(group) == nil {
					errResp.SetResponseError(http.StatusNotFound, "ResourceGroupNotFound")
					return
				}
			case len(parts) == 2 && strings.EqualFold(parts[0], "subscriptions"):
			default:
				errResp.SetResponseError(http.StatusBadRequest, "UnsupportedScope")
				return
			}
			if q.TimePeriod == nil || q.TimePeriod.From == nil || q.TimePeriod.To == nil || q.TimePeriod.To.Before(*q.TimePeriod.From) {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidTimePeriod")
				return
			}
			s.mu.Lock()
			s.costQueries++
			s.mu.Unlock()
			res, err := s.query(group, q)
			if err != nil {
				errResp.SetResponseError(http.StatusBadRequest, err.Error())
				return
			}
			resp.SetResponse(http.StatusOK, armcostmanagement.QueryClientUsageResponse{QueryResult: res}, nil)
			return
		},
	}
}
