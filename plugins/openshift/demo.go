package openshift

import "github.com/atrium-portal/atrium/internal/integrations/kube/kubesim"

// seedDemo puts the demo catalog's tracking-service (annotated
// backstage.io/kubernetes-id: tracking-service) on the simulated cluster.
func seedDemo(s *kubesim.Sim) error {
	labels := map[string]any{"app": "tracking-service", AnnotationKubernetesID: "tracking-service"}
	objs := []map[string]any{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shipment-tracking"}},
		{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "tracking-service", "namespace": "shipment-tracking", "labels": labels},
			"spec": map[string]any{"replicas": 3, "selector": map[string]any{"matchLabels": map[string]any{"app": "tracking-service"}},
				"template": map[string]any{"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.northwind.example/tracking-service:2.4.1"}}}}}},
		{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "tracking-service", "namespace": "shipment-tracking", "labels": labels},
			"spec":     map[string]any{"selector": map[string]any{"app": "tracking-service"}, "ports": []any{map[string]any{"port": 8080}}}},
		{"apiVersion": "route.openshift.io/v1", "kind": "Route",
			"metadata": map[string]any{"name": "tracking-service", "namespace": "shipment-tracking", "labels": labels},
			"spec":     map[string]any{"host": "tracking.apps.demo.northwind.example", "to": map[string]any{"kind": "Service", "name": "tracking-service"}}},
	}
	for _, o := range objs {
		if err := s.Seed(o); err != nil {
			return err
		}
	}
	return nil
}
