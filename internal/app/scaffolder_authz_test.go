package app_test

import (
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestScaffolderPermissions runs the scaffolder under the example policy:
// a task is visible to its creator and to holders of scaffolder.task.read,
// its creator may cancel it, and others are told it does not exist.
func TestScaffolderPermissions(t *testing.T) {
	dir := t.TempDir()
	apptest.WriteFilesTo(t, dir, scaffolderFiles)
	// jane is a developer, whom the policy lets use templates; sam is not.
	apptest.WriteFilesTo(t, dir, map[string]string{"org.yaml": scaffolderFiles["org.yaml"] + `---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: developers }
spec: { type: team, children: [], members: [jane] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: jane }
spec: { memberOf: [developers] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: sam }
spec: {}
`})
	s := apptest.StartServer(t, scaffolderConfig(dir)+apptest.ExamplePolicyConfig(t))
	token := func(ref string) string { return s.Token(t, ref) }
	jane, sam := token("user:default/jane"), token("user:default/sam")

	var created struct{ ID string }
	if code := call(t, s, sam, "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/slow","values":{"seconds":30}}`, nil); code != 403 {
		t.Errorf("sam, not a developer, creates a task: got %d, want 403", code)
	}
	if code := call(t, s, "", "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/slow","values":{"seconds":30}}`, nil); code != 401 {
		t.Errorf("create without credentials: got %d, want 401", code)
	}
	if code := call(t, s, jane, "POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/slow","values":{"seconds":30}}`, &created); code != 201 {
		t.Fatalf("jane creates a task: got %d, want 201", code)
	}
	var task struct{ CreatedBy string }
	if code := call(t, s, jane, "GET", "/api/scaffolder/v2/tasks/"+created.ID, "", &task); code != 200 || task.CreatedBy != "user:default/jane" {
		t.Errorf("jane reads her task: got %d, createdBy %q", code, task.CreatedBy)
	}
	if code := call(t, s, sam, "POST", "/api/scaffolder/v2/tasks/"+created.ID+"/cancel", "", nil); code != 404 {
		t.Errorf("sam cancels jane's task: got %d, want 404", code)
	}
	var st struct{ Status string }
	if code := call(t, s, jane, "POST", "/api/scaffolder/v2/tasks/"+created.ID+"/cancel", "", &st); code != 200 {
		t.Errorf("jane cancels her task: got %d, want 200", code)
	}
}
