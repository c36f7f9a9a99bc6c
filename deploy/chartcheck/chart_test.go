// Package chartcheck renders the Helm chart in deploy/helm/atrium with Helm's
// own template engine and validates every manifest against the Kubernetes
// API types (unknown or misspelled fields fail), the restricted security
// profile OpenShift and Pod Security "restricted" require, and Atrium's own
// configuration loader (the rendered app-config.yaml must load).
//
// It is its own Go module so that Helm's dependencies stay out of Atrium's
// binary; .ci/run runs it with `cd deploy/chartcheck && go test ./...`.
package chartcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/atrium-portal/atrium/internal/config"
)

const chartDir = "../helm/atrium"

// cases are value sets that together switch on every template.
var cases = map[string]string{
	"defaults": ``,
	"kubernetes with ingress, persistence, policies and plugins": `
ingress: {enabled: true, className: nginx, tls: {secretName: atrium-tls}}
persistence: {enabled: true}
policies: {configMap: atrium-policies}
plugins: {enabled: true, existingClaim: atrium-plugins}
extraSecretEnv: {existingSecret: atrium-secrets}
appConfig:
  auth:
    providers:
      oidc:
        production:
          metadataUrl: https://keycloak.example.com/realms/acme/.well-known/openid-configuration
          clientId: atrium
          clientSecret: ${env:OIDC_CLIENT_SECRET}
networkPolicy:
  egress:
    - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
`,
	"openshift route, fixed replicas": `
route: {enabled: true, host: atrium.apps.example.com}
autoscaling: {enabled: false}
replicaCount: 3
networkPolicy: {ingressNamespaceLabels: []}
`,
}

func TestChartRendersValidManifests(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			docs := render(t, ch, cases[name])
			kinds := map[string]int{}
			for file, doc := range docs {
				kind := validate(t, file, doc)
				kinds[kind]++
			}
			for _, k := range []string{"Deployment", "Service", "ConfigMap"} {
				if kinds[k] != 1 {
					t.Errorf("want one %s, rendered %d", k, kinds[k])
				}
			}
		})
	}
}

// render returns the non-empty manifests, keyed by template file (and a
// document index when a file holds several).
func render(t *testing.T, ch *chart.Chart, values string) map[string][]byte {
	t.Helper()
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatalf("test values: %v", err)
	}
	rv, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{Name: "atrium", Namespace: "portal", IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	out, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("rendering: %v", err)
	}
	docs := map[string][]byte{}
	for file, text := range out {
		if !strings.HasSuffix(file, ".yaml") {
			continue
		}
		for i, part := range strings.Split(text, "\n---") {
			if strings.TrimSpace(stripComments(part)) == "" {
				continue
			}
			docs[fmt.Sprintf("%s#%d", file, i)] = []byte(part)
		}
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// route is the part of OpenShift's route.openshift.io/v1 Route the chart
// uses; its fields follow the OpenShift API.
type route struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		Host string `json:"host,omitempty"`
		To   struct {
			Kind   string `json:"kind"`
			Name   string `json:"name"`
			Weight int    `json:"weight"`
		} `json:"to"`
		Port struct {
			TargetPort string `json:"targetPort"`
		} `json:"port"`
		TLS struct {
			Termination                   string `json:"termination"`
			InsecureEdgeTerminationPolicy string `json:"insecureEdgeTerminationPolicy"`
		} `json:"tls"`
		WildcardPolicy string `json:"wildcardPolicy"`
	} `json:"spec"`
}

// validate strictly decodes one manifest into its API type and checks what
// the chart promises about it; it returns the kind.
func validate(t *testing.T, file string, doc []byte) string {
	t.Helper()
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatalf("%s: not YAML: %v\n%s", file, err, doc)
	}
	var head struct{ APIVersion, Kind string }
	_ = json.Unmarshal(js, &head)
	strict := func(v any) {
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("%s: %s %s does not match the Kubernetes API: %v", file, head.APIVersion, head.Kind, err)
		}
	}
	want := map[string]string{
		"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "ServiceAccount": "v1",
		"PersistentVolumeClaim": "v1", "HorizontalPodAutoscaler": "autoscaling/v2",
		"PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1",
		"Ingress": "networking.k8s.io/v1", "Route": "route.openshift.io/v1",
	}
	if w, ok := want[head.Kind]; !ok {
		t.Errorf("%s: unexpected kind %q", file, head.Kind)
	} else if head.APIVersion != w {
		t.Errorf("%s: %s has apiVersion %q, want %q", file, head.Kind, head.APIVersion, w)
	}
	switch head.Kind {
	case "Deployment":
		var d appsv1.Deployment
		strict(&d)
		checkDeployment(t, file, &d)
	case "Service":
		var s corev1.Service
		strict(&s)
		if s.Spec.Selector["app.kubernetes.io/name"] != "atrium" {
			t.Errorf("%s: service selector %v does not select Atrium's pods", file, s.Spec.Selector)
		}
	case "ConfigMap":
		var c corev1.ConfigMap
		strict(&c)
		checkAppConfig(t, file, c.Data["app-config.yaml"])
	case "ServiceAccount":
		var s corev1.ServiceAccount
		strict(&s)
	case "PersistentVolumeClaim":
		var p corev1.PersistentVolumeClaim
		strict(&p)
	case "HorizontalPodAutoscaler":
		var h autoscalingv2.HorizontalPodAutoscaler
		strict(&h)
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name == "" {
			t.Errorf("%s: HPA targets %+v", file, h.Spec.ScaleTargetRef)
		}
	case "PodDisruptionBudget":
		var p policyv1.PodDisruptionBudget
		strict(&p)
	case "NetworkPolicy":
		var n networkingv1.NetworkPolicy
		strict(&n)
	case "Ingress":
		var i networkingv1.Ingress
		strict(&i)
	case "Route":
		var r route
		strict(&r)
		if r.Spec.To.Kind != "Service" || r.Spec.TLS.Termination == "" {
			t.Errorf("%s: route must point to the Service with TLS: %+v", file, r.Spec)
		}
	}
	return head.Kind
}

// checkDeployment holds the pod to the "restricted" profile (Pod Security
// Standards and OpenShift's restricted-v2 SCC): non-root without a fixed
// UID, no privilege escalation, all capabilities dropped, RuntimeDefault
// seccomp, read-only root filesystem; and probes on Atrium's health routes.
func checkDeployment(t *testing.T, file string, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("%s: selector label %s=%s missing from the pod template", file, k, v)
		}
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("%s: pod must set runAsNonRoot", file)
	}
	if psc != nil && psc.RunAsUser != nil {
		t.Errorf("%s: a fixed runAsUser breaks OpenShift's restricted SCC", file)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod must use the RuntimeDefault seccomp profile", file)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", file, len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: container has no securityContext", file)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: allowPrivilegeEscalation must be false", file)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: the root filesystem must be read-only", file)
	case sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL":
		t.Errorf("%s: all capabilities must be dropped", file)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", file, name)
			continue
		}
		if p.HTTPGet.Path != "/healthz" && p.HTTPGet.Path != "/readyz" {
			t.Errorf("%s: %s probe on %s, want /healthz or /readyz", file, name, p.HTTPGet.Path)
		}
	}
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	for _, p := range []string{"/etc/atrium", "/var/lib/atrium", "/tmp"} {
		if !mounts[p] {
			t.Errorf("%s: %s is not mounted (the root filesystem is read-only)", file, p)
		}
	}
	for _, e := range c.Env {
		if e.Value != "" && strings.Contains(strings.ToLower(e.Name), "url") {
			t.Errorf("%s: %s is a literal; connection strings come from a Secret", file, e.Name)
		}
	}
}

// checkAppConfig loads the rendered configuration with Atrium's own loader,
// as `atrium serve --config` would in the pod.
func checkAppConfig(t *testing.T, file, text string) {
	t.Helper()
	if text == "" {
		t.Errorf("%s: no app-config.yaml", file)
		return
	}
	cfg, err := config.LoadBytes("app-config.yaml", []byte(text), map[string]string{
		"ATRIUM_DATABASE_URL": "postgres://atrium:secret@db:5432/atrium",
		"OIDC_CLIENT_SECRET":  "s3cret",
	})
	if err != nil {
		t.Errorf("%s: Atrium refuses the rendered configuration: %v\n%s", file, err, text)
		return
	}
	if cfg.Backend.Listen.Host != "0.0.0.0" || cfg.Backend.Listen.Port != 7007 {
		t.Errorf("%s: listens on %s, want 0.0.0.0:7007", file, cfg.Backend.Listen.Addr())
	}
}

// TestGoMemLimit checks that GOMEMLIMIT is a share of the container's
// memory limit (goMemLimitPercent, 80 by default), not all of it: memory
// outside the Go runtime's (SQLite's page caches, the mapped binary,
// stacks) needs the rest. Bad values fail the rendering with a clear error.
func TestGoMemLimit(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	tests := []struct {
		name   string
		values string
		want   string // GOMEMLIMIT; "" for none
		err    string
	}{
		{"default 1Gi", ``, "858993459", ""},
		{"2Gi at 90%", "resources: {limits: {memory: 2Gi}}\ngoMemLimitPercent: 90", "1932735283", ""},
		{"decimal suffix", "resources: {limits: {memory: 1500M}}", "1200000000", ""},
		{"fraction", "resources: {limits: {memory: 1.5Gi}}", "1288490188", ""},
		{"plain bytes", "resources: {limits: {memory: 1000000000}}", "800000000", ""},
		{"no memory limit", "resources: {limits: null}", "", ""},
		{"bad quantity", "resources: {limits: {memory: lots}}", "", `resources.limits.memory "lots"`},
		{"bad percent", "goMemLimitPercent: 120", "", "goMemLimitPercent 120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := map[string]any{}
			if err := yaml.Unmarshal([]byte(tt.values), &vals); err != nil {
				t.Fatalf("test values: %v", err)
			}
			rv, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{Name: "atrium", Namespace: "portal", IsInstall: true}, common.DefaultCapabilities)
			if err != nil {
				t.Fatalf("values: %v", err)
			}
			out, err := engine.Render(ch, rv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("rendering: %v", err)
			}
			var d appsv1.Deployment
			if err := yaml.Unmarshal([]byte(out["atrium/templates/deployment.yaml"]), &d); err != nil {
				t.Fatalf("deployment: %v", err)
			}
			got := ""
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "GOMEMLIMIT" {
					if e.ValueFrom != nil {
						t.Errorf("GOMEMLIMIT comes from %v, want a literal share of the limit", e.ValueFrom)
					}
					got = e.Value
				}
			}
			if got != tt.want {
				t.Errorf("GOMEMLIMIT: got %q, want %q", got, tt.want)
			}
		})
	}
}
