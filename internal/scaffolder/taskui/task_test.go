package taskui_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/atrium-portal/atrium/internal/app/apptest"
)

// TestTaskPageFinishedDemoTask runs the demo's static-website template
// (on each database) and reads its task page: every step completed with its log, the progress
// bar full, the output links resolved to the portal, no Cancel or Retry.
func TestTaskPageFinishedDemoTask(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testTaskPageFinishedDemoTask(t, db.YAML) })
	}
}

func testTaskPageFinishedDemoTask(t *testing.T, dbYAML string) {
	s := start(t, "  demo: true\n", dbYAML)
	c := client{t: t, base: s.BaseURL}
	waitEntity(t, s.BaseURL, "template/default/static-website")
	waitEntity(t, s.BaseURL, "group/default/platform-team")
	id := c.create("template:default/static-website", `{"name":"hello-site","owner":"group:default/platform-team"}`)
	if got := c.waitStatus(id, "completed", "failed"); got.Status != "completed" {
		t.Fatalf("task status: got %q, want completed", got.Status)
	}
	doc := c.page("/create/tasks/"+id, 200)
	if got := strings.TrimSpace(doc.Find("h1.page-title").Text()); got != "Static website" {
		t.Errorf("title: got %q, want Static website", got)
	}
	if got := doc.Find("#task").AttrOr("data-status", ""); got != "completed" {
		t.Errorf("task status: got %q, want completed", got)
	}
	steps := doc.Find("li.task-step")
	if steps.Length() != 3 {
		t.Fatalf("steps: got %d, want 3", steps.Length())
	}
	steps.Each(func(i int, li *goquery.Selection) {
		if got := li.AttrOr("data-status", ""); got != "completed" {
			t.Errorf("step %s: status %q, want completed", li.AttrOr("data-step", ""), got)
		}
		if li.Find("pre.task-log .log-line").Length() == 0 {
			t.Errorf("step %s: no log lines", li.AttrOr("data-step", ""))
		}
		if strings.TrimSpace(li.Find(".step-duration").Text()) == "" {
			t.Errorf("step %s: no duration", li.AttrOr("data-step", ""))
		}
	})
	fetchLog := doc.Find(`li.task-step[data-step="fetch"] pre.task-log`).Text()
	if !strings.Contains(fetchLog, "Beginning step Fetch the skeleton") || !strings.Contains(fetchLog, "fetched files") {
		t.Errorf("fetch step log: got %q, want its beginning and the fetched files", fetchLog)
	}
	if got := doc.Find(`li.task-step[data-step="publish"] .step-name`).Text(); got != "Publish on Atrium's git host" {
		t.Errorf("publish step name: got %q", got)
	}
	bar := doc.Find("progress#task-progress")
	if bar.AttrOr("value", "") != "3" || bar.AttrOr("max", "") != "3" {
		t.Errorf("progress: got value %q max %q, want 3 of 3", bar.AttrOr("value", ""), bar.AttrOr("max", ""))
	}
	catalogLink := doc.Find(`#task-output a[data-kind="entity"]`)
	if href := catalogLink.AttrOr("href", ""); href != "/catalog/default/component/hello-site" {
		t.Errorf("Open in catalog: got href %q, want /catalog/default/component/hello-site", href)
	}
	if got := catalogLink.Text(); got != "Open in catalog" {
		t.Errorf("entity link title: got %q", got)
	}
	repo := doc.Find(`#task-output a[data-kind="url"]`).AttrOr("href", "")
	if !strings.HasSuffix(repo, "/git/platform-team/hello-site.git") {
		t.Errorf("Repository link: got %q, want the git host's clone URL", repo)
	}
	if doc.Find("#task-cancel, #task-retry, #task-refresh").Length() != 0 {
		t.Errorf("a finished task shows Cancel, Retry or Refresh")
	}
	if !strings.Contains(doc.Find("pre.task-log[data-log='']").Text(), "Run completed with status: completed") {
		t.Errorf("task log: got %q, want the completion", doc.Find("pre.task-log[data-log='']").Text())
	}
	// The page links its script and styles, and they are served.
	for _, sel := range []string{`script[src^="/static/task-page.js"]`, `link[href^="/static/task-page.css"]`} {
		el := doc.Find(sel)
		if el.Length() != 1 {
			t.Errorf("%s: got %d elements, want 1", sel, el.Length())
			continue
		}
		src := el.AttrOr("src", el.AttrOr("href", ""))
		if res, _ := c.req("GET", src, "", "", nil); res.StatusCode != 200 {
			t.Errorf("GET %s: got %d", src, res.StatusCode)
		}
	}
	// Unknown tasks are 404 pages.
	c.page("/create/tasks/00000000-0000-0000-0000-000000000000", 404)
}

type sseEvent struct {
	ID, Type string
	Data     struct {
		ID   int64 `json:"id"`
		Body struct {
			Message, StepID, Status string
		} `json:"body"`
	}
}

// readSSE reads a page's event stream until it ends or fn returns false.
func readSSE(t *testing.T, c client, path string, hdr map[string]string, fn func(sseEvent) bool) {
	t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: got %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			ev.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data); err != nil {
				t.Fatalf("event data %q: %v", line, err)
			}
		case line == "" && ev.Type != "":
			if !fn(ev) {
				return
			}
			ev = sseEvent{}
		}
	}
}

// TestTaskEventStream follows a running task's page stream (on each
// database): the first
// step's log line arrives while the debug:wait step is still running, step
// states come with their log lines, and the stream ends with the
// completion. A reconnect with Last-Event-ID replays only what came after.
func TestTaskEventStream(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testTaskEventStream(t, db.YAML) })
	}
}

func testTaskEventStream(t *testing.T, dbYAML string) {
	s := start(t, "", dbYAML)
	c := client{t: t, base: s.BaseURL}
	id := c.create("template:default/slow", `{"seconds":3}`)
	var events []sseEvent
	var helloAt, doneAt time.Time
	readSSE(t, c, "/create/tasks/"+id+"/events", nil, func(ev sseEvent) bool {
		events = append(events, ev)
		if ev.Data.Body.Message == "hello from the first step" && helloAt.IsZero() {
			helloAt = time.Now()
		}
		if ev.Type == "completion" {
			doneAt = time.Now()
		}
		return true
	})
	if helloAt.IsZero() || doneAt.IsZero() {
		t.Fatalf("stream: want the first step's log line and the completion; got %+v", events)
	}
	if gap := doneAt.Sub(helloAt); gap < 2*time.Second {
		t.Errorf("the log line came %v before the completion; want it live, while debug:wait ran (3s)", gap)
	}
	statuses := map[string][]string{}
	for i, ev := range events {
		if ev.ID == "" {
			t.Errorf("event %d has no id", i)
		}
		if ev.Data.Body.StepID != "" && ev.Data.Body.Status != "" {
			statuses[ev.Data.Body.StepID] = append(statuses[ev.Data.Body.StepID], ev.Data.Body.Status)
		}
	}
	if got := strings.Join(statuses["wait"], ","); got != "processing,completed" {
		t.Errorf("wait step states: got %q, want processing,completed", got)
	}
	if last := events[len(events)-1]; last.Type != "completion" || last.Data.Body.Status != "completed" {
		t.Errorf("last event: got %+v, want the completion", last)
	}
	// Reconnecting after the third event replays the rest only.
	var replay []sseEvent
	readSSE(t, c, "/create/tasks/"+id+"/events?after=0", map[string]string{"Last-Event-ID": events[2].ID}, func(ev sseEvent) bool {
		replay = append(replay, ev)
		return true
	})
	if len(replay) != len(events)-3 || replay[0].ID != events[3].ID {
		t.Errorf("replay after %s: got %d events starting at %v, want %d starting at %s", events[2].ID, len(replay), replay, len(events)-3, events[3].ID)
	}
	if res, body := c.req("GET", "/create/tasks/"+id+"/events?after=x", "", "", map[string]string{"Accept": "application/json"}); res.StatusCode != 400 || !strings.Contains(string(body), "after must be a non-negative event id") {
		t.Errorf("after=x: got %d %s, want 400 naming after", res.StatusCode, body)
	}
}

// TestTaskPageRunning shows a running task: the processing step, the
// Cancel button with its CSRF field, the refresh link and the stream's
// starting point.
func TestTaskPageRunning(t *testing.T) {
	s := start(t, "", "")
	c := client{t: t, base: s.BaseURL}
	id := c.create("template:default/slow", `{"seconds":30}`)
	deadline := time.Now().Add(30 * time.Second)
	var doc *goquery.Document
	for time.Now().Before(deadline) {
		doc = c.page("/create/tasks/"+id, 200)
		if doc.Find(`li.task-step[data-step="wait"]`).AttrOr("data-status", "") == "processing" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wait := doc.Find(`li.task-step[data-step="wait"]`)
	if got := wait.AttrOr("data-status", ""); got != "processing" {
		t.Fatalf("wait step: got %q, want processing", got)
	}
	if _, ok := wait.Attr("data-started"); !ok {
		t.Errorf("the running step has no data-started")
	}
	if _, ok := wait.Find("details").Attr("open"); !ok {
		t.Errorf("the running step's log is closed")
	}
	if got := doc.Find(`li.task-step[data-step="bye"]`).AttrOr("data-status", ""); got != "pending" {
		t.Errorf("last step: got %q, want pending", got)
	}
	if got := doc.Find("#task-progress").AttrOr("value", ""); got != "1" {
		t.Errorf("progress: got %q, want 1", got)
	}
	if doc.Find("#task-refresh").AttrOr("href", "") != "/create/tasks/"+id {
		t.Errorf("no refresh link to the page")
	}
	if doc.Find(`form[action="/create/tasks/`+id+`/cancel"] input[name=csrf_token]`).AttrOr("value", "") == "" {
		t.Errorf("no Cancel form with a CSRF token")
	}
	if doc.Find("#task-retry").Length() != 0 {
		t.Errorf("a running task shows Retry")
	}
	if doc.Find("#task").AttrOr("data-after", "0") == "0" {
		t.Errorf("data-after: want the last event shown")
	}
	if code, loc := c.post("/create/tasks/"+id+"/cancel", url.Values{}); code != 303 || loc != "/create/tasks/"+id {
		t.Errorf("cancel: got %d to %q, want 303 to the page", code, loc)
	}
	c.waitStatus(id, "cancelled")
}

// TestTaskPageLimits: atrium.scaffolder.taskLogLines caps the lines a page
// shows (and it says so), taskStreams the streams open at once (429).
func TestTaskPageLimits(t *testing.T) {
	s := start(t, "  scaffolder: { staleTaskAfter: 2s, taskStreams: 1, taskLogLines: 3 }\n", "")
	c := client{t: t, base: s.BaseURL}
	id := c.create("template:default/slow", `{"seconds":30}`)
	c.waitStatus(id, "processing")
	// The runner writes the first step's lines after the task is
	// processing: wait for more lines than the page may show.
	apptest.Eventually(t, 0, "3 of the task's log lines shown, with a notice that more were left out", func() (bool, string) {
		doc := c.page("/create/tasks/"+id, 200)
		lines := doc.Find("pre.task-log .log-line").Length()
		notice := strings.Contains(doc.Find(".alert.warn").Text(), "more log lines than the page shows")
		return lines == 3 && notice, fmt.Sprintf("%d lines shown, notice %v", lines, notice)
	})
	// One stream is open; a second is refused until it closes.
	req, _ := http.NewRequest("GET", s.BaseURL+"/create/tasks/"+id+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("first stream: got %d", res.StatusCode)
	}
	second, body := c.req("GET", "/create/tasks/"+id+"/events", "", "", map[string]string{"Accept": "text/event-stream"})
	if second.StatusCode != 429 || !strings.Contains(string(body), "too many task streams are open (limit 1)") {
		t.Errorf("second stream: got %d %s, want 429 naming the limit", second.StatusCode, body)
	}
	res.Body.Close()
	c.post("/create/tasks/"+id+"/cancel", url.Values{})
	c.waitStatus(id, "cancelled")
	deadline := time.Now().Add(10 * time.Second)
	for {
		third, _ := c.req("GET", "/create/tasks/"+id+"/events", "", "", map[string]string{"Accept": "text/event-stream"})
		if third.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first stream closed: got %d, want 200", third.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
