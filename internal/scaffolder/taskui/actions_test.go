package taskui_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestCancelAndRetryFromThePage posts the page's Cancel and Retry forms:
// the task's creator and holders of the permission may, others get 403,
// a cookie-carrying browser needs the CSRF token, and each action is
// audited.
func TestCancelAndRetryFromThePage(t *testing.T) {
	_, p := startWithPolicy(t)
	jane, joe, sam := p.jane, p.joe, p.sam
	id := jane.create("template:default/slow", `{"seconds":60}`)
	jane.waitStatus(id, "processing")
	page := "/create/tasks/" + id

	doc := jane.page(page, 200)
	if doc.Find("#task-cancel").Length() != 1 {
		t.Errorf("jane's running task: no Cancel button")
	}
	sam.page(page, 404) // others' tasks do not exist for sam
	if code, _ := sam.post(page+"/cancel", url.Values{}); code != 403 {
		t.Errorf("sam cancels jane's task: got %d, want 403", code)
	}
	if got := jane.waitStatus(id, "processing"); got.Status != "processing" {
		t.Errorf("after sam's cancel: status %q", got.Status)
	}
	// A browser's form post without the CSRF token is refused.
	res, body := jane.req("POST", page+"/cancel", "application/x-www-form-urlencoded", "", map[string]string{"Cookie": "atrium-csrf=0123456789abcdef0123", "Authorization": ""})
	if res.StatusCode != 403 && res.StatusCode != 401 {
		t.Errorf("cancel without a CSRF token: got %d %s, want 403 or 401", res.StatusCode, body)
	}
	if code, loc := jane.post(page+"/cancel", url.Values{}); code != 303 || loc != page {
		t.Fatalf("jane cancels: got %d to %q, want 303 to %s", code, loc, page)
	}
	jane.waitStatus(id, "cancelled")
	doc = jane.page(page, 200)
	if doc.Find("#task-cancel").Length() != 0 || doc.Find("#task-retry").Length() != 1 {
		t.Errorf("cancelled task: want Retry and no Cancel")
	}
	if got := doc.Find(`li.task-step[data-step="bye"]`).AttrOr("data-status", ""); got != "cancelled" {
		t.Errorf("the step never reached: got %q, want cancelled", got)
	}

	// Retry: sam may not, joe (scaffolder.task.create) may.
	if code, _ := sam.post(page+"/retry", url.Values{}); code != 403 {
		t.Errorf("sam retries jane's task: got %d, want 403", code)
	}
	if code, loc := joe.post(page+"/retry", url.Values{}); code != 303 || loc != page {
		t.Fatalf("joe retries: got %d to %q, want 303", code, loc)
	}
	jane.waitStatus(id, "open", "processing")
	// Retrying a running task is a conflict, said on an error page.
	if code, _ := jane.post(page+"/retry", url.Values{}); code != 409 {
		t.Errorf("retry a running task: got %d, want 409", code)
	}
	if code, _ := joe.post(page+"/cancel", url.Values{}); code != 303 {
		t.Errorf("joe (scaffolder.task.cancel) cancels: got %d, want 303", code)
	}
	jane.waitStatus(id, "cancelled")

	// A failed task offers Retry to its creator.
	failed := jane.create("template:default/flaky", `{}`)
	jane.waitStatus(failed, "failed")
	doc = jane.page("/create/tasks/"+failed, 200)
	if doc.Find("#task-retry").Length() != 1 || doc.Find("#task-error").Length() != 1 {
		t.Errorf("failed task: want Retry and the error")
	}
	if got := doc.Find(`li.task-step[data-step="rename"]`).AttrOr("data-status", ""); got != "failed" {
		t.Errorf("failed step: got %q", got)
	}
	if doc.Find(`li.task-step[data-step="rename"] details[open] .step-error`).Length() != 1 {
		t.Errorf("the failed step's error is not shown open")
	}

	// Every action is in the audit log with who did it.
	var audit struct {
		Items []struct {
			Action, Resource, Outcome string
			Actor                     struct{ Ref string }
		}
	}
	p.ann.json("GET", "/api/audit/events?resource="+url.QueryEscape("task:"+id)+"&limit=50", "", 200, &audit)
	var got []string
	for _, e := range audit.Items {
		if strings.HasPrefix(e.Action, "scaffolder.") {
			got = append(got, e.Actor.Ref+" "+e.Action)
		}
	}
	want := []string{"user:default/joe scaffolder.task.cancel", "user:default/joe scaffolder.task.retry", "user:default/jane scaffolder.task.cancel", "user:default/jane scaffolder.task.create"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit: got %v, want %v", got, want)
	}
	// So are sam's refused attempts.
	p.ann.json("GET", "/api/audit/events?outcome=denied&actor="+url.QueryEscape("user:default/sam"), "", 200, &audit)
	denied := map[string]bool{}
	for _, e := range audit.Items {
		denied[e.Action+" "+e.Resource] = true
	}
	for _, a := range []string{"scaffolder.task.cancel", "scaffolder.task.create"} {
		if !denied[a+" task:"+id] {
			t.Errorf("audit: no denied %s on task:%s for sam; got %+v", a, id, audit.Items)
		}
	}
}
