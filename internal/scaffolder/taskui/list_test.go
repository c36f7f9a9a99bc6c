package taskui_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

func rowIDs(doc *goquery.Document) []string {
	var ids []string
	doc.Find("#task-list tbody tr").Each(func(_ int, tr *goquery.Selection) {
		ids = append(ids, tr.AttrOr("data-task", ""))
	})
	return ids
}

// TestMyTasks lists only the caller's own tasks, newest first, with a
// status filter and paging; everyone's tasks are for holders of
// scaffolder.task.read; bad filters are 400s that name the parameter.
func TestMyTasks(t *testing.T) {
	_, p := startWithPolicy(t)
	jane, joe, sam := p.jane, p.joe, p.sam
	var janes []string
	for i := 0; i < 3; i++ {
		janes = append(janes, jane.create("template:default/slow", `{"seconds":0}`))
	}
	failed := jane.create("template:default/flaky", `{}`)
	joes := joe.create("template:default/slow", `{"seconds":0}`)
	for _, id := range janes {
		jane.waitStatus(id, "completed")
	}
	jane.waitStatus(failed, "failed")
	joe.waitStatus(joes, "completed")

	doc := jane.page("/create/tasks", 200)
	want := []string{failed, janes[2], janes[1], janes[0]}
	if got := rowIDs(doc); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("jane's tasks: got %v, want %v (newest first, not joe's)", got, want)
	}
	row := doc.Find(`#task-list tr[data-task="` + failed + `"]`)
	if got := row.AttrOr("data-status", ""); got != "failed" {
		t.Errorf("flaky task row: status %q, want failed", got)
	}
	if row.Find(".badge.err").Length() != 1 || !strings.Contains(row.Text(), "Flaky template") {
		t.Errorf("flaky task row: want a red badge and the template's title, got %q", row.Text())
	}
	if href := row.Find("a").First().AttrOr("href", ""); href != "/create/tasks/"+failed {
		t.Errorf("row link: got %q", href)
	}
	if got := strings.TrimSpace(row.Find("td.num").Text()); got == "" || got == "–" {
		t.Errorf("flaky task row: no duration")
	}

	doc = jane.page("/create/tasks?status=completed&limit=2", 200)
	if got := rowIDs(doc); fmt.Sprint(got) != fmt.Sprint([]string{janes[2], janes[1]}) {
		t.Errorf("completed, page 1: got %v, want %v", got, []string{janes[2], janes[1]})
	}
	next := doc.Find(`a[rel=next]`).AttrOr("href", "")
	if next != "/create/tasks?limit=2&page=2&status=completed" {
		t.Fatalf("next page link: got %q", next)
	}
	doc = jane.page(next, 200)
	if got := rowIDs(doc); fmt.Sprint(got) != fmt.Sprint([]string{janes[0]}) {
		t.Errorf("completed, page 2: got %v, want %v", got, []string{janes[0]})
	}
	if doc.Find(`a[rel=prev]`).Length() != 1 || doc.Find(`a[rel=next]`).Length() != 0 {
		t.Errorf("page 2: want a previous link and no next link")
	}

	// jane may read every task (scaffolder.*): the toggle shows them all.
	doc = jane.page("/create/tasks", 200)
	if href := doc.Find("#tasks-all").AttrOr("href", ""); href != "/create/tasks?all=1" {
		t.Errorf("all-tasks toggle: got %q", href)
	}
	doc = jane.page("/create/tasks?all=1", 200)
	if got := len(rowIDs(doc)); got != 5 {
		t.Errorf("all tasks: got %d rows, want 5", got)
	}
	// sam may not: he sees his own (none) and no toggle; all=1 is refused.
	doc = sam.page("/create/tasks", 200)
	if len(rowIDs(doc)) != 0 || doc.Find("#tasks-all").Length() != 0 || doc.Find(".empty").Length() != 1 {
		t.Errorf("sam's tasks: want none, no toggle and the empty state")
	}
	sam.page("/create/tasks?all=1", 403)

	for q, want := range map[string]string{
		"status=done": "status must be one of",
		"limit=0":     "limit must be an integer from 1 to",
		"page=x":      "page must be a positive integer",
	} {
		res, body := jane.req("GET", "/create/tasks?"+q, "", "", map[string]string{"Accept": "text/html"})
		if res.StatusCode != 400 || !strings.Contains(string(body), want) {
			t.Errorf("%s: got %d, want 400 saying %q", q, res.StatusCode, want)
		}
	}
}

// TestDryRunsAreNotTasks: a dry run leaves no task in GET /tasks nor in
// My tasks, on each database.
func TestDryRunsAreNotTasks(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testDryRunsAreNotTasks(t, db.YAML) })
	}
}

func testDryRunsAreNotTasks(t *testing.T, dbYAML string) {
	s := start(t, "", dbYAML)
	c := client{t: t, base: s.BaseURL}
	id := c.create("template:default/slow", `{"seconds":0}`)
	c.waitStatus(id, "completed")
	tmpl := `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"dry"},"spec":{"type":"service","steps":[{"id":"log","action":"debug:log","input":{"message":"hi"}}]}}`
	var res struct{ Status string }
	c.json("POST", "/api/scaffolder/v2/dry-run", `{"template":`+tmpl+`,"values":{}}`, 200, &res)
	if res.Status != "completed" {
		t.Fatalf("dry run: got %q, want completed", res.Status)
	}
	var list struct {
		Tasks []struct {
			ID   string
			Spec struct {
				TemplateInfo struct{ EntityRef string }
			}
		}
		TotalTasks int
	}
	c.json("GET", "/api/scaffolder/v2/tasks", "", 200, &list)
	if list.TotalTasks != 1 || len(list.Tasks) != 1 || list.Tasks[0].ID != id {
		t.Errorf("GET /tasks after a dry run: got %d tasks (%+v), want only %s", list.TotalTasks, list.Tasks, id)
	}
	if got := rowIDs(c.page("/create/tasks", 200)); fmt.Sprint(got) != fmt.Sprint([]string{id}) {
		t.Errorf("My tasks after a dry run: got %v, want [%s]", got, id)
	}
	c.json("GET", "/api/scaffolder/v2/tasks?status=completed&createdBy="+url.QueryEscape("user:default/guest"), "", 200, &list)
	if list.TotalTasks != 1 {
		t.Errorf("filtered GET /tasks after a dry run: got %d, want 1", list.TotalTasks)
	}
}
