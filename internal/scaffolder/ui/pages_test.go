package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/browsertest"
)

// templateTitles lists the titles of every template in the catalog, sorted,
// as the development user (an admin in tests) sees them through the API.
func templateTitles(c client) []string {
	c.t.Helper()
	var ents []struct {
		Metadata struct{ Name, Title string }
	}
	c.json("GET", "/api/catalog/entities?filter=kind=template&fields=metadata.name,metadata.title", 200, &ents)
	var titles []string
	for _, e := range ents {
		if e.Metadata.Title != "" {
			titles = append(titles, e.Metadata.Title)
		} else {
			titles = append(titles, e.Metadata.Name)
		}
	}
	slices.Sort(titles)
	return titles
}

func cardTitles(doc *goquery.Document) []string {
	var out []string
	doc.Find(".cg-card .cg-title a").Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
	sort.Strings(out)
	return out
}

// TestGallery runs on SQLite and, with ATRIUM_TEST_POSTGRES, PostgreSQL:
// the filters and the search are catalog queries.
func TestGallery(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testGallery(t, db.YAML) })
	}
}

func testGallery(t *testing.T, dbYAML string) {
	s := start(t, dbYAML)
	c := client{t: t, base: s.BaseURL}
	doc := c.page("/create", 200)
	// Every template in the catalog (the demo's and the test's), by title.
	want := templateTitles(c)
	if !slices.Contains(want, "Hidden template") || !slices.Contains(want, "Go service") {
		t.Fatalf("the test catalog lacks its templates: %v", want)
	}
	if got := cardTitles(doc); !reflect.DeepEqual(got, want) {
		t.Errorf("cards: got %v, want %v", got, want)
	}
	if nav := doc.Find(`#site-nav a[href="/create"]`); nav.AttrOr("aria-current", "") != "page" {
		t.Errorf("navigation: the Create item is missing or not current")
	}
	if doc.Find(`head script[src^="/static/create-form.js?v="]`).Length() != 1 || doc.Find(`head link[href^="/static/create-pages.css?v="]`).Length() != 1 {
		t.Errorf("the page does not link create-form.js and create-pages.css")
	}
	card := doc.Find(".cg-card").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return s.Find(".cg-title").Text() == "Go service"
	})
	if href := card.Find(".cg-title a").AttrOr("href", ""); href != "/create/templates/default/go-service" {
		t.Errorf("go-service link: got %q", href)
	}
	if got := card.Find(".badge.kind").Text(); got != "service" {
		t.Errorf("go-service type: got %q", got)
	}
	if got := card.Find(".cg-foot a").First().Text(); got != "platform-team" {
		t.Errorf("go-service owner: got %q", got)
	}
	if got := card.Find(".tag").Length(); got != 3 {
		t.Errorf("go-service tags: got %d, want 3", got)
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"tag=go", []string{"Go service"}},
		{"type=api", []string{"New API"}},
		{"owner=group:default/developers", []string{"Deployment", "Hidden template"}},
		{"q=website", []string{"Static website"}},
		{"q=site&tag=docs", []string{"Documentation site"}},
		{"q=nothing-matches", nil},
	}
	for _, tt := range tests {
		doc := c.page("/create?"+tt.query, 200)
		if got := cardTitles(doc); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.query, got, tt.want)
		}
		// The URL's state shows in the filters.
		v, _ := url.ParseQuery(tt.query)
		if tag := v.Get("tag"); tag != "" && doc.Find(`#cg-tag option[selected]`).AttrOr("value", "") != tag {
			t.Errorf("%s: the tag filter does not show %q", tt.query, tag)
		}
		if q := v.Get("q"); q != "" && doc.Find("#cg-q").AttrOr("value", "") != q {
			t.Errorf("%s: the search box does not show %q", tt.query, q)
		}
	}
	if doc := c.page("/create?q="+strings.Repeat("x", 201), 400); !strings.Contains(doc.Find(".alert.err").Text(), "the limit is 200") {
		t.Errorf("a long search: got %q", doc.Find(".alert.err").Text())
	}
}

func TestGalleryShowsOnlyReadableTemplates(t *testing.T) {
	s, jane, _ := startWithPolicy(t)
	got := cardTitles(jane.page("/create", 200))
	for _, title := range got {
		if title == "Hidden template" {
			t.Errorf("jane sees the template tagged secret: %v", got)
		}
	}
	counts, err := s.App.Store().EntityCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != counts["template"]-1 {
		t.Errorf("jane's gallery: got %v, want every one of the %d templates but the hidden one", got, counts["template"])
	}
	jane.page("/create/templates/default/hidden", 404)
}

func TestFormRenders(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	doc := c.page("/create/templates/default/go-service", 200)
	if got := doc.Find("h1.page-title").Text(); got != "Go service" {
		t.Errorf("title: got %q", got)
	}
	var steps []string
	doc.Find(".cf-steps li").Each(func(_ int, s *goquery.Selection) { steps = append(steps, strings.TrimSpace(s.Text())) })
	if want := []string{"1 About the service", "2 Options", "3 Review"}; !reflect.DeepEqual(steps, want) {
		t.Errorf("steps: got %v, want %v", steps, want)
	}
	pages := doc.Find("fieldset.cf-page")
	if pages.Length() != 2 || pages.Eq(0).AttrOr("hidden", "-") != "-" || pages.Eq(1).AttrOr("hidden", "-") == "-" {
		t.Errorf("pages: want two, the first shown and the second hidden")
	}
	name := doc.Find(`input[name="v:name"]`)
	if _, ok := name.Attr("autofocus"); !ok {
		t.Errorf("name: want autofocus")
	}
	if !strings.Contains(doc.Find(`label[for="f-name"]`).Text(), "(required)") {
		t.Errorf("name: the label does not say it is required")
	}
	if got := doc.Find(`input[name="v:description"]`).AttrOr("value", ""); got != "A Go service" {
		t.Errorf("description default: got %q", got)
	}
	if got := doc.Find(`input[name="v:owner"]`).AttrOr("data-suggest-kind", ""); got != "entities" {
		t.Errorf("owner: got data-suggest-kind %q, want a picker", got)
	}
	if got := doc.Find(`input[name="v:port"]`).AttrOr("value", ""); got != "8080" {
		t.Errorf("port default: got %q", got)
	}
	if got := doc.Find(`select[name="v:lifecycle"] option[selected]`).Text(); got != "Experimental" {
		t.Errorf("lifecycle: got %q selected, want Experimental (enumNames)", got)
	}
	if got := doc.Find("#cf-next").Text(); got != "Next" {
		t.Errorf("button: got %q", got)
	}
	if doc.Find(`input[name="csrf_token"]`).Length() != 1 {
		t.Errorf("the form has no csrf_token")
	}
	if !strings.Contains(doc.Find(".cf-runs").Text(), "No runs yet") {
		t.Errorf("recent runs: got %q", doc.Find(".cf-runs").Text())
	}
	c.page("/create/templates/default/no-such-template", 404)
}

func TestInvalidPageKeepsValues(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	form := formValues(c.page("/create/templates/default/go-service", 200))
	form.Set("v:name", "Not Valid")
	form.Set("v:owner", "")
	form.Set("_action", "next")
	status, _, doc := c.post("/create/templates/default/go-service", form)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("status: got %d, want 422", status)
	}
	if got := doc.Find(`input[name="v:name"]`).AttrOr("value", ""); got != "Not Valid" {
		t.Errorf("name: got %q, want the typed value kept", got)
	}
	if got := doc.Find(`input[name="v:name"]`).AttrOr("aria-invalid", ""); got != "true" {
		t.Errorf("name: aria-invalid %q", got)
	}
	if got := doc.Find("#f-name-error").Text(); got != "Must match the pattern ^[a-z][a-z0-9-]{1,40}$." {
		t.Errorf("name error: got %q", got)
	}
	if got := doc.Find("#f-owner-error").Text(); got != "This field is required." {
		t.Errorf("owner error: got %q", got)
	}
	if got := doc.Find("#cf-summary li").Length(); got != 2 {
		t.Errorf("summary: got %d problems, want 2", got)
	}
	if got := doc.Find(`#cf-summary a[href="#f-name"]`).Length(); got != 1 {
		t.Errorf("summary: no link to the name field")
	}
	if got := doc.Find(`.cf-steps li[aria-current="step"]`).Text(); !strings.Contains(got, "About the service") {
		t.Errorf("current step: got %q, want the first page again", got)
	}
	// A number that is not one, on the second page.
	form.Set("v:name", "shop")
	form.Set("v:owner", "platform-team")
	form.Set("v:port", "eighty")
	form.Set("_page", "1")
	status, _, doc = c.post("/create/templates/default/go-service", form)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("port: status %d, want 422", status)
	}
	if got := doc.Find("#f-port-error").Text(); got != `Enter a whole number, not "eighty".` {
		t.Errorf("port error: got %q", got)
	}
	if got := doc.Find(`input[name="v:port"]`).AttrOr("value", ""); got != "eighty" {
		t.Errorf("port: got %q, want the typed text kept", got)
	}
	// Bad _page and _action say what is wrong.
	form.Set("_page", "7")
	status, _, doc = c.post("/create/templates/default/go-service", form)
	if status != http.StatusBadRequest || !strings.Contains(doc.Text(), "_page must be a page number from 0 to 2") {
		t.Errorf("bad _page: got %d %q", status, doc.Find("main").Text())
	}
}

func TestStepperAndReview(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	form := formValues(c.page("/create/templates/default/go-service", 200))
	form.Set("v:name", "shop")
	form.Set("v:owner", "platform-team")
	form.Set("_action", "next")
	status, _, doc := c.post("/create/templates/default/go-service", form)
	if status != 200 {
		t.Fatalf("next: got %d", status)
	}
	if got := doc.Find(`input[name="_page"]`).AttrOr("value", ""); got != "1" {
		t.Errorf("after next: page %q, want 1", got)
	}
	if got := doc.Find("#cf-next").Text(); got != "Review" {
		t.Errorf("last page button: got %q, want Review", got)
	}
	// The owner was completed to a full ref.
	if got := doc.Find(`input[name="v:owner"]`).AttrOr("value", ""); got != "group:default/platform-team" {
		t.Errorf("owner: got %q", got)
	}
	form = formValues(doc)
	form.Set("v:lifecycle", "production")
	form.Set("_action", "next")
	status, _, doc = c.post("/create/templates/default/go-service", form)
	if status != 200 || doc.Find(".cf-review").Length() != 1 {
		t.Fatalf("review: got %d, review section %d", status, doc.Find(".cf-review").Length())
	}
	rows := map[string]string{}
	doc.Find(".cf-review dl dt").Each(func(_ int, s *goquery.Selection) { rows[s.Text()] = s.Next().Text() })
	want := map[string]string{"Name": "shop", "Owner": "group:default/platform-team", "Description": "A Go service", "Port": "8080", "Lifecycle": "Production", "Publish to": "Atrium's git host"}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("review rows: got %v, want %v", rows, want)
	}
	// Edit goes back to a page without judging it; Back from review to the last page.
	form = formValues(doc)
	form.Set("_action", "goto:0")
	if status, _, doc = c.post("/create/templates/default/go-service", form); status != 200 || doc.Find(`input[name="_page"]`).AttrOr("value", "") != "0" {
		t.Errorf("edit page 1: got %d page %s", status, doc.Find(`input[name="_page"]`).AttrOr("value", ""))
	}
	form.Set("_action", "back")
	if status, _, doc = c.post("/create/templates/default/go-service", form); status != 200 || doc.Find(`input[name="_page"]`).AttrOr("value", "") != "1" {
		t.Errorf("back: got %d page %s", status, doc.Find(`input[name="_page"]`).AttrOr("value", ""))
	}
	// Each step is recorded, without the values.
	res, body := c.req("GET", "/api/audit/events?action="+url.QueryEscape("POST /create/templates/{namespace}/{name}"), "", "", nil)
	if res.StatusCode != 200 || !strings.Contains(string(body), `"resource":"/create/templates/default/go-service"`) || strings.Contains(string(body), "platform-team") {
		t.Errorf("audit of page steps: got %d %s", res.StatusCode, body)
	}
}

func TestSubmitCreatesTask(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testSubmitCreatesTask(t, db.YAML) })
	}
}

func testSubmitCreatesTask(t *testing.T, dbYAML string) {
	s := start(t, dbYAML)
	c := client{t: t, base: s.BaseURL}
	form := formValues(c.page("/create/templates/default/go-service", 200))
	form.Set("v:name", "parcel-api")
	form.Set("v:owner", "group:default/tracking-team")
	form.Set("v:port", "9090")
	form.Set("_page", "2")
	form.Set("_action", "create")
	status, loc, _ := c.post("/create/templates/default/go-service", form)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/create/tasks/") {
		t.Fatalf("create: got %d to %q, want 303 to /create/tasks/{id}", status, loc)
	}
	id := strings.TrimPrefix(loc, "/create/tasks/")
	got := c.waitStatus(id, "completed", "failed")
	if got.Status != "completed" {
		t.Fatalf("task: %s (%s)", got.Status, got.State.Error)
	}
	if got.Spec.TemplateInfo.EntityRef != "template:default/go-service" || got.CreatedBy != "user:default/guest" {
		t.Errorf("task: template %q by %q", got.Spec.TemplateInfo.EntityRef, got.CreatedBy)
	}
	// publishTo is a default the form fills in (Atrium's git host).
	wantParams := map[string]any{"name": "parcel-api", "owner": "group:default/tracking-team", "port": float64(9090), "description": "A Go service", "lifecycle": "experimental", "publishTo": "atrium"}
	if !reflect.DeepEqual(got.Spec.Parameters, wantParams) {
		t.Errorf("parameters: got %v, want %v", got.Spec.Parameters, wantParams)
	}
	c.json("GET", "/api/catalog/entities/by-name/component/default/parcel-api", 200, nil)
	// The template's page lists the run.
	doc := c.page("/create/templates/default/go-service", 200)
	run := doc.Find("#cf-runs li")
	if run.Length() != 1 || run.Find("a").AttrOr("href", "") != loc || run.Find(".badge.ok").Text() != "completed" {
		t.Errorf("recent runs: got %d rows, %q", run.Length(), run.Text())
	}
	// The creation is audited with the task id.
	var audit struct {
		Items []struct {
			Action, Resource string
		}
	}
	c.json("GET", "/api/audit/events?action=scaffolder.task.create", 200, &audit)
	found := false
	for _, e := range audit.Items {
		found = found || e.Resource == "task:"+id
	}
	if !found {
		t.Errorf("audit: no scaffolder.task.create record for task:%s in %v", id, audit.Items)
	}
}

func TestSecretsAndConditions(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	doc := c.page("/create/templates/default/deploy", 200)
	for _, name := range []string{"v:namespace", "v:hostname"} {
		field := doc.Find(`[data-field="` + name + `"]`)
		if _, hidden := field.Attr("hidden"); !hidden || field.AttrOr("data-cond-on", "") != "v:target" {
			t.Errorf("%s: want hidden until a target is chosen, controlled by v:target", name)
		}
	}
	if got := doc.Find(`input[name="v:token"]`).AttrOr("type", ""); got != "password" {
		t.Errorf("token: got type %q", got)
	}
	form := formValues(doc)
	form.Set("v:target", "kubernetes")
	form.Set("v:token", "s3cret-token")
	form.Set("v:namespace", "Bad Namespace")
	form.Set("v:hostname", "ignored.example")
	form.Set("_action", "next")
	status, _, doc := c.post("/create/templates/default/deploy", form)
	if status != http.StatusUnprocessableEntity || doc.Find("#f-namespace-error").Text() != "Must match the pattern ^[a-z-]+$." {
		t.Fatalf("namespace: got %d %q", status, doc.Find("#f-namespace-error").Text())
	}
	if _, hidden := doc.Find(`[data-field="v:namespace"]`).Attr("hidden"); hidden {
		t.Errorf("namespace: hidden although target is kubernetes")
	}
	if _, hidden := doc.Find(`[data-field="v:hostname"]`).Attr("hidden"); !hidden {
		t.Errorf("hostname: shown although target is kubernetes")
	}
	form.Set("v:namespace", "shop")
	form.Set("v:labels", "team-a")
	status, _, doc = c.post("/create/templates/default/deploy", form)
	if status != 200 {
		t.Fatalf("next: got %d %s", status, doc.Find(".alert").Text())
	}
	form = formValues(doc)
	form.Set("_action", "next")
	_, _, doc = c.post("/create/templates/default/deploy", form)
	rows := map[string]string{}
	doc.Find(".cf-review dl dt").Each(func(_ int, s *goquery.Selection) { rows[s.Text()] = s.Next().Text() })
	if rows["Deploy token"] != "******" || rows["Target"] != "Kubernetes" || rows["Namespace"] != "shop" {
		t.Errorf("review: got %v", rows)
	}
	if _, ok := rows["Hostname"]; ok {
		t.Errorf("review lists the hidden hostname")
	}
	form = formValues(doc)
	form.Set("_action", "create")
	status, loc, _ := c.post("/create/templates/default/deploy", form)
	if status != http.StatusSeeOther {
		t.Fatalf("create: got %d", status)
	}
	got := c.waitStatus(strings.TrimPrefix(loc, "/create/tasks/"), "completed", "failed")
	if got.Status != "completed" {
		t.Fatalf("task: %s %s", got.Status, got.State.Error)
	}
	want := map[string]any{"target": "kubernetes", "namespace": "shop", "token": "************", "labels": []any{"team-a"}}
	if !reflect.DeepEqual(got.Spec.Parameters, want) {
		t.Errorf("parameters: got %v, want %v (the token masked, the hostname left out)", got.Spec.Parameters, want)
	}
	if got.State.Steps["check"].Status != "completed" {
		t.Errorf("the step that needs secrets.token: got %q, want completed (the secret reached the task)", got.State.Steps["check"].Status)
	}
}

func TestSuggest(t *testing.T) {
	for _, db := range apptest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testSuggest(t, db.YAML) })
	}
}

func testSuggest(t *testing.T, dbYAML string) {
	s := start(t, dbYAML)
	c := client{t: t, base: s.BaseURL}
	var got struct {
		Items []struct{ Value, Label, Detail string }
	}
	c.json("GET", "/create/templates/default/go-service/suggest?field=v:owner&q=develop", 200, &got)
	if len(got.Items) != 1 || got.Items[0].Value != "group:default/developers" || got.Items[0].Label != "Developers" {
		t.Errorf("owner suggestions: got %+v", got.Items)
	}
	// go-service's owner picker only offers groups.
	c.json("GET", "/create/templates/default/go-service/suggest?field=v:owner&q=jane", 200, &got)
	if len(got.Items) != 0 {
		t.Errorf("a user for a Group-only picker: got %+v", got.Items)
	}
	// docs-site's OwnerPicker offers groups and users.
	c.json("GET", "/create/templates/default/docs-site/suggest?field=v:owner&q=jane", 200, &got)
	if len(got.Items) != 1 || got.Items[0].Value != "user:default/jane" {
		t.Errorf("OwnerPicker users: got %+v", got.Items)
	}
	c.json("GET", "/create/templates/default/deploy/suggest?field=v:labels&q=o", 200, &got)
	found := false
	for _, it := range got.Items {
		found = found || it.Value == "ops"
	}
	if !found {
		t.Errorf("tag suggestions: got %+v, want ops among them", got.Items)
	}
	c.json("GET", "/create/templates/default/deploy/suggest?field=v:repo&q=develop", 200, &got)
	if len(got.Items) != 1 || got.Items[0].Value != "developers" {
		t.Errorf("repository owners: got %+v, want the group's name", got.Items)
	}
	c.json("GET", "/create/templates/default/go-service/suggest?field=v:name", 404, nil)
	c.json("GET", "/create/templates/default/go-service/suggest?field=v:owner&q="+strings.Repeat("x", 201), 400, nil)
}

func TestPermissions(t *testing.T) {
	_, jane, sam := startWithPolicy(t)
	sam.page("/create/templates/default/go-service", 403)
	form := formValues(jane.page("/create/templates/default/go-service", 200))
	form.Set("v:name", "jane-svc")
	form.Set("v:owner", "group:default/developers")
	form.Set("_page", "2")
	form.Set("_action", "create")
	if status, _, _ := sam.post("/create/templates/default/go-service", form); status != http.StatusForbidden {
		t.Errorf("sam creates: got %d, want 403", status)
	}
	status, loc, _ := jane.post("/create/templates/default/go-service", form)
	if status != http.StatusSeeOther {
		t.Fatalf("jane creates: got %d", status)
	}
	if got := jane.waitStatus(strings.TrimPrefix(loc, "/create/tasks/"), "completed", "failed"); got.CreatedBy != "user:default/jane" {
		t.Errorf("created by: got %q, want jane", got.CreatedBy)
	}
}

func TestCSRF(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	form := url.Values{"_page": {"0"}, "_action": {"next"}, "v:name": {"x"}}
	res, _ := c.req("POST", "/create/templates/default/go-service", "application/x-www-form-urlencoded", form.Encode(),
		map[string]string{"Cookie": "atrium-csrf=0123456789abcdef0123456789abcdef", "Accept": "text/html"})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a form post with a browser cookie and no token: got %d, want 403", res.StatusCode)
	}
}

// TestLimits checks that the configured limits apply.
func TestLimits(t *testing.T) {
	s := startWith(t, "  scaffolder: { galleryLimit: 2, recentRuns: 1, suggestionLimit: 1 }", "")
	c := client{t: t, base: s.BaseURL}
	doc := c.page("/create", 200)
	if got := doc.Find(".cg-card").Length(); got != 2 {
		t.Errorf("gallery: got %d cards, want 2", got)
	}
	if got, n := doc.Find("#cg-count").Text(), len(templateTitles(c)); !strings.Contains(got, fmt.Sprintf("%d templates; showing the first 2", n)) {
		t.Errorf("gallery count: got %q", got)
	}
	var sugg struct{ Items []struct{ Value string } }
	c.json("GET", "/create/templates/default/docs-site/suggest?field=v:owner", 200, &sugg)
	if len(sugg.Items) != 1 {
		t.Errorf("suggestions: got %d, want 1", len(sugg.Items))
	}
	for i := 0; i < 2; i++ {
		form := formValues(c.page("/create/templates/default/deploy", 200))
		form.Set("v:target", "vm")
		form.Set("v:hostname", "h")
		form.Set("v:token", "t")
		form.Set("_page", "2")
		form.Set("_action", "create")
		if status, _, doc := c.post("/create/templates/default/deploy", form); status != http.StatusSeeOther {
			t.Fatalf("create: got %d %s", status, doc.Find(".alert").Text())
		}
	}
	if got := c.page("/create/templates/default/deploy", 200).Find("#cf-runs li").Length(); got != 1 {
		t.Errorf("recent runs: got %d, want 1", got)
	}
}

// TestTemplateWithoutParameters goes straight to the review page.
func TestTemplateWithoutParameters(t *testing.T) {
	s := start(t, "")
	c := client{t: t, base: s.BaseURL}
	doc := c.page("/create/templates/default/hidden", 200)
	if !strings.Contains(doc.Find(".cf-review").Text(), "This template takes no parameters.") || doc.Find("#cf-create").Length() != 1 {
		t.Fatalf("want the review page with Create")
	}
	form := formValues(doc)
	form.Set("_action", "create")
	status, loc, _ := c.post("/create/templates/default/hidden", form)
	if status != http.StatusSeeOther {
		t.Fatalf("create: got %d", status)
	}
	if got := c.waitStatus(strings.TrimPrefix(loc, "/create/tasks/"), "completed", "failed"); got.Status != "completed" {
		t.Errorf("task: %s", got.Status)
	}
}

// TestBrowserPhone checks the create pages at 390 px: nothing scrolls sideways.
func TestBrowserPhone(t *testing.T) {
	s := start(t, "")
	ctx := browsertest.New(t, 390, 844)
	for _, path := range []string{"/create", "/create/templates/default/go-service", "/create/templates/default/deploy"} {
		browsertest.Do(t, ctx, "open "+path, chromedp.Navigate(s.BaseURL+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		if browsertest.Eval[bool](t, ctx, `document.documentElement.scrollWidth > 390`) {
			t.Errorf("%s scrolls sideways at 390 px", path)
		}
	}
	browsertest.Shot(t, ctx, "form")
}
