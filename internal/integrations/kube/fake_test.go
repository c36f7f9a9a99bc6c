package kube_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/atrium-portal/atrium/internal/integrations/kube"
)

// fakeClient is the client over client-go's fake dynamic client, with
// the OpenShift project kinds registered for listing.
func fakeClient(objs ...runtime.Object) (*kube.Client, *dynamicfake.FakeDynamicClient) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		kube.GVRProject:        "ProjectList",
		kube.GVRProjectRequest: "ProjectRequestList",
	}, objs...)
	disc := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	return kube.NewFromInterfaces("fake", kube.KindOpenShift, "https://api.fake:6443", dyn, disc), dyn
}

func TestProjectRequestWithFakeClient(t *testing.T) {
	ctx := context.Background()
	t.Run("created", func(t *testing.T) {
		c, dyn := fakeClient()
		created, err := c.EnsureProject(ctx, kube.Project{Name: "team-a", DisplayName: "Team A", Description: "d"})
		if err != nil || !created {
			t.Fatalf("created %v, err %v", created, err)
		}
		var got *unstructured.Unstructured
		for _, a := range dyn.Actions() {
			if ca, ok := a.(clienttesting.CreateAction); ok && a.GetResource() == kube.GVRProjectRequest {
				got = ca.GetObject().(*unstructured.Unstructured)
			}
		}
		if got == nil || got.GetKind() != "ProjectRequest" || got.Object["displayName"] != "Team A" {
			t.Errorf("project request = %v", got)
		}
	})
	t.Run("exists", func(t *testing.T) {
		project := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "project.openshift.io/v1", "kind": "Project", "metadata": map[string]any{"name": "team-a"}}}
		c, dyn := fakeClient(project)
		dyn.PrependReactor("create", "projectrequests", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Group: "project.openshift.io", Resource: "projects"}, "team-a")
		})
		created, err := c.EnsureProject(ctx, kube.Project{Name: "team-a"})
		if err != nil || created {
			t.Fatalf("created %v, err %v", created, err)
		}
	})
	t.Run("exists but invisible", func(t *testing.T) {
		c, dyn := fakeClient()
		dyn.PrependReactor("create", "projectrequests", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Group: "project.openshift.io", Resource: "projects"}, "taken")
		})
		_, err := c.EnsureProject(ctx, kube.Project{Name: "taken"})
		if err == nil || !strings.Contains(err.Error(), "exists but cannot be read") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		c, dyn := fakeClient()
		dyn.PrependReactor("create", "projectrequests", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "project.openshift.io", Resource: "projectrequests"}, "x", nil)
		})
		_, err := c.EnsureProject(ctx, kube.Project{Name: "x"})
		if kube.StatusOf(err) != 403 || !strings.Contains(c.Describe(err), "grant the service account") {
			t.Fatalf("got %v", err)
		}
	})
}
