package azure_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// The scaffolder API as tests call it (apptest).
type (
	client = apptest.Client
	event  = apptest.TaskEvent
	task   = apptest.Task
)

const armTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "appName": {"type": "string"},
    "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}
  },
  "variables": {"account": "[toLower(concat(parameters('appName'), 'data'))]"},
  "resources": [
    {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-01-01", "name": "[variables('account')]", "location": "[parameters('location')]"},
    {"type": "Microsoft.Web/serverfarms", "apiVersion": "2022-09-01", "name": "[concat(parameters('appName'), '-plan')]"},
    {"type": "Microsoft.Web/sites", "apiVersion": "2022-09-01", "name": "[parameters('appName')]"}
  ],
  "outputs": {
    "storageAccount": {"type": "string", "value": "[variables('account')]"},
    "siteName": {"type": "string", "value": "[parameters('appName')]"}
  }
}
`

var catalogFiles = map[string]string{
	"all.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: { name: all }
spec: { targets: [./catalog.yaml, ./infra/template.yaml] }
`,
	"catalog.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: ops }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  annotations: { azure.com/resource-group: sim/rg-payments }
spec: { type: service, lifecycle: production, owner: ops }
`,
	"infra/skeleton/azuredeploy.json": armTemplate,
	"infra/template.yaml": `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: infra }
spec:
  type: infrastructure
  parameters:
    required: [name]
    properties: { name: { type: string } }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, targetPath: infra }
    - id: rg
      action: azure:resourceGroup:ensure
      input: { name: 'rg-${{ parameters.name }}', location: westeurope, tags: { idp-component: '${{ parameters.name }}' } }
    - id: deploy
      action: azure:deployment:create
      input:
        resourceGroup: '${{ steps.rg.output.name }}'
        name: '${{ parameters.name }}-infra'
        template: infra/azuredeploy.json
        parameters: { appName: '${{ parameters.name }}' }
  output:
    text:
      - { title: Storage account, content: '${{ steps.deploy.output.outputs.storageAccount }}' }
`,
}

func appConfig(dir, step string) string {
	return fmt.Sprintf(`catalog:
  rules: [{ allow: [Component, Group, User, Location, Template, Resource] }]
  locations: [{ type: file, target: %q }]
atrium:
  allowedLocationTypes: [file, url]
  scaffolder: { staleTaskAfter: 2s }
plugins:
  azure:
    config:
      subscriptions:
        - { name: sim, subscriptionId: 11111111-2222-3333-4444-555555555555, simulated: true }
      pollInterval: 20ms
      simulationStep: %s
`, filepath.Join(dir, "all.yaml"), step)
}

func writeCatalog(t *testing.T) string { return apptest.WriteFiles(t, catalogFiles) }

func logOf(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Body.Message + "\n")
	}
	return b.String()
}

// TestTemplateTaskInApp runs both actions through a template task of the
// scaffolder API against the simulated subscription, then checks the
// Azure card on the entity page.
func TestTemplateTaskInApp(t *testing.T) {
	dir := writeCatalog(t)
	base := apptest.Start(t, appConfig(dir, "60ms"))
	c := client{T: t, Base: base}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "payments"}}, 201, &created)
	evs := c.TaskEvents(created.ID, nil)
	var tk task
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	log := logOf(evs)
	if tk.Status != "completed" {
		t.Fatalf("task %s: %s\n%s", tk.Status, tk.State.Error, log)
	}
	for _, want := range []string{"resource group rg-payments created in westeurope (subscription sim, simulated)",
		"what-if: 3 to create, 0 to modify, 0 to delete, 0 unchanged", "what-if: Create Microsoft.Web/sites/payments",
		"deployment payments-infra is Accepted", "deployment payments-infra is Running", "deployment payments-infra is Succeeded",
		"deployment payments-infra Succeeded: 3 resources, outputs siteName, storageAccount"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if got := fmt.Sprint(tk.State.Output["text"]); !strings.Contains(got, "paymentsdata") {
		t.Errorf("output text = %s", got)
	}

	// The same task again: the group is unchanged, the deployment runs
	// again (Incremental).
	c.JSON("POST", "/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "payments"}}, 201, &created)
	evs = c.TaskEvents(created.ID, nil)
	c.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &tk)
	if tk.Status != "completed" || !strings.Contains(logOf(evs), "resource group rg-payments unchanged") || !strings.Contains(logOf(evs), "what-if: 0 to create, 0 to modify, 0 to delete, 3 unchanged") {
		t.Errorf("second run: %s %s\n%s", tk.Status, tk.State.Error, logOf(evs))
	}

	req, _ := http.NewRequest("GET", base+"/catalog/default/component/payments", nil)
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	card := doc.Find(`#card-azure-resources`)
	text := strings.Join(strings.Fields(card.Text()), " ")
	for _, want := range []string{"simulated Azure", "rg-payments", "westeurope", "paymentsdata", "Microsoft.Web/sites", "payments-plan", "Month-to-date cost", "EUR"} {
		if !strings.Contains(text, want) {
			t.Errorf("card lacks %q: %q", want, text)
		}
	}
	if n := card.Find(".badge.ok").Length(); n != 3 {
		h, _ := goquery.OuterHtml(card)
		t.Errorf("want three ok badges (one per resource), got %d: %s", n, h)
	}
	if card.Find("figure.plugin-chart svg").Length() != 1 {
		h, _ := goquery.OuterHtml(card)
		t.Errorf("no cost chart: %s", h)
	}
}

// TestDeploymentResumesAfterRestart stops Atrium while the deployment
// runs; the next start follows the same deployment from its resume
// token instead of starting another.
func TestDeploymentResumesAfterRestart(t *testing.T) {
	dir := writeCatalog(t)
	r := apptest.RunAcrossRestart(t, appConfig(dir, "700ms"), dir, "", false,
		map[string]any{"templateRef": "template:default/infra", "values": map[string]any{"name": "resume"}},
		func(e event) bool { return strings.Contains(e.Body.Message, "is Accepted") })
	c, evs, tk := r.Client, r.Events, r.Task
	log := logOf(evs)
	if tk.Status != "completed" {
		t.Fatalf("after restart: %s (%s)\n%s", tk.Status, tk.State.Error, log)
	}
	if !strings.Contains(log, "resuming deployment resume-infra") {
		t.Errorf("no 'resuming deployment' line in the log:\n%s", log)
	}
	if strings.Count(log, "deploying 3 resources") != 1 {
		t.Errorf("the deployment was started %d times, want once:\n%s", strings.Count(log, "deploying 3 resources"), log)
	}
	if got := fmt.Sprint(tk.State.Output["text"]); !strings.Contains(got, "resumedata") {
		t.Errorf("output text = %s", got)
	}
	// The deployment was followed through the operations store.
	if ops := c.Operations(r.TaskID); len(ops) != 1 || ops[0].Kind != "deployment" || ops[0].State != "succeeded" || !strings.HasPrefix(ops[0].System, "azure:") || ops[0].ExternalID != "resume-infra" {
		t.Errorf("operations of the task: got %+v, want one succeeded deployment", ops)
	}
}
