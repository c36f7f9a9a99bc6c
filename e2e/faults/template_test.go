package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const slowTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: slow }
spec:
  type: service
  steps:
    - id: first
      action: fetch:plain:file
      input: { url: ./file.txt, targetPath: first.txt }
    - id: wait
      action: debug:wait
      input: { seconds: 3 }
    - id: last
      action: debug:log
      input: { message: done, listWorkspace: true }
`

type taskEvent struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	Body struct {
		StepID string `json:"stepId"`
		Status string `json:"status"`
	} `json:"body"`
}

// events returns the task's events after the given id.
func (p *proc) events(id string, after int64) []taskEvent {
	p.t.Helper()
	status, body := p.call("GET", fmt.Sprintf("/api/scaffolder/v2/tasks/%s/events?after=%d", id, after), "")
	if status != 200 {
		p.t.Fatalf("task events: %d %s", status, body)
	}
	var evs []taskEvent
	if err := json.Unmarshal(body, &evs); err != nil {
		p.t.Fatal(err)
	}
	return evs
}

// TestKillDuringTemplateRun: atrium is killed with SIGKILL while a task
// runs its debug:wait step; started again on the same database, it takes
// the task up once it is stale and finishes it without running the steps
// that had finished (the first step starts once, the wait step twice).
func TestKillDuringTemplateRun(t *testing.T) {
	dir := t.TempDir()
	tmplDir := filepath.Join(dir, "templates")
	if err := os.MkdirAll(tmplDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"template.yaml": slowTemplate, "file.txt": "hello\n"} {
		if err := os.WriteFile(filepath.Join(tmplDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	cfg := writeConfig(t, dir, port, fmt.Sprintf(`  scaffolder: { staleTaskAfter: 2s }
catalog:
  processingInterval: false
  rules: [{ allow: [Template, Location] }]
  locations: [{ type: file, target: %q }]
`, filepath.Join(tmplDir, "template.yaml")))

	first := start(t, cfg, port, "first.log", nil)
	first.ready(30 * time.Second)
	var created struct{ ID string }
	for deadline := time.Now().Add(20 * time.Second); ; {
		status, body := first.call("POST", "/api/scaffolder/v2/tasks", `{"templateRef":"template:default/slow","values":{}}`)
		if status == 201 {
			if err := json.Unmarshal(body, &created); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("creating the task: %d %s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var after int64
	var seen []taskEvent
	for deadline, inWait := time.Now().Add(20*time.Second), false; !inWait; {
		if time.Now().After(deadline) {
			t.Fatalf("the wait step did not start; events %+v", seen)
		}
		for _, e := range first.events(created.ID, after) {
			seen = append(seen, e)
			after = e.ID
			if e.Body.StepID == "wait" && e.Body.Status == "processing" {
				inWait = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	first.kill()

	second := start(t, cfg, port, "second.log", nil)
	second.ready(30 * time.Second)
	done := false
	for deadline := time.Now().Add(40 * time.Second); !done; {
		if time.Now().After(deadline) {
			t.Fatalf("the task did not complete after the restart; events %+v\nlog:\n%s", seen, second.tail())
		}
		for _, e := range second.events(created.ID, after) {
			seen = append(seen, e)
			after = e.ID
			done = done || e.Type == "completion"
		}
		time.Sleep(100 * time.Millisecond)
	}
	status, body := second.call("GET", "/api/scaffolder/v2/tasks/"+created.ID, "")
	var task struct{ Status string }
	if err := json.Unmarshal(body, &task); status != 200 || err != nil || task.Status != "completed" {
		t.Fatalf("the task after the restart: %d %s", status, body)
	}
	starts := map[string]int{}
	for _, e := range seen {
		if e.Body.Status == "processing" && e.Body.StepID != "" {
			starts[e.Body.StepID]++
		}
	}
	if starts["first"] != 1 || starts["wait"] != 2 || starts["last"] != 1 {
		t.Errorf("step starts: got %v, want first 1, wait 2 (killed, resumed), last 1", starts)
	}
}
