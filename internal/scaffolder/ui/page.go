package ui

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-portal/atrium/internal/audit"
	"github.com/atrium-portal/atrium/internal/auth"
	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/web"
	portal "github.com/atrium-portal/atrium/internal/web/ui"
)

// Form actions: the submit button pressed.
const (
	actNext   = "next"
	actBack   = "back"
	actCreate = "create"
	actGoto   = "goto:"
)

// formData is what the form template sees.
type formData struct {
	Ref, Action, SuggestURL, CSRF string
	Title, Description            string
	Owner, OwnerHref, Type        string
	EntityHref                    string
	Tags                          []string
	Form                          *Form
	Current                       int
	Review                        bool
	Steps                         []stepItem
	Problems                      []problem
	General                       string
	ReviewPages                   []reviewPage
	Back, Next, ReviewLabel       string
	CreateLabel                   string
	Runs                          []runRow
	RunsAll                       bool
	RunsError                     string
}

type stepItem struct {
	Index         int
	Title         string
	Done, Current bool
}

// problem is one line of the error summary, linking to its field.
type problem struct {
	ID, Label, Message string
}

type reviewPage struct {
	Index int
	Title string
	Rows  []reviewRow
}

type reviewRow struct {
	Label, Value string
	Empty        bool
}

type runRow struct {
	ID, Href, Status, Class, By string
	Created                     time.Time
}

// template loads the template named by the path, checking that the caller
// may see its parameters (the authorized catalog hides it otherwise).
func (p *Pages) template(r *http.Request) (*scaffolder.Template, *catalog.Entity, error) {
	if err := p.check(r, "scaffolder.template.parameter.read"); err != nil {
		return nil, nil, err
	}
	ref := catalog.Ref{Kind: "template", Namespace: strings.ToLower(r.PathValue("namespace")), Name: strings.ToLower(r.PathValue("name"))}.String()
	e, err := p.cat.EntityByRef(r.Context(), ref)
	if err != nil {
		return nil, nil, err
	}
	t, err := scaffolder.ParseTemplate(e)
	if err != nil {
		return nil, nil, err
	}
	return t, e, nil
}

// form serves GET /create/templates/{namespace}/{name}: the first page
// with the schema's defaults.
func (p *Pages) form(w http.ResponseWriter, r *http.Request) {
	t, e, err := p.template(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	st := state{values: defaults(t.Pages), raw: map[string]string{}, errs: map[string]string{}}
	p.show(w, r, t, e, st, 0, http.StatusOK)
}

// submit serves POST /create/templates/{namespace}/{name}: Back and Next
// move between pages (Next validates the page first), the review page's
// Create validates every page and creates the task.
func (p *Pages) submit(w http.ResponseWriter, r *http.Request) {
	t, e, err := p.template(r)
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		web.WriteError(w, r, errInvalid("the form could not be read: %v", err))
		return
	}
	last := len(t.Pages) // the review page
	page, err := strconv.Atoi(r.PostForm.Get("_page"))
	if err != nil || page < 0 || page > last {
		web.WriteError(w, r, errInvalid("_page must be a page number from 0 to %d, got %q", last, r.PostForm.Get("_page")))
		return
	}
	exists := func(ref string) bool {
		_, err := p.cat.EntityByRef(r.Context(), ref)
		return err == nil
	}
	st := decode(t.Pages, r.PostForm, exists)
	action := r.PostForm.Get("_action")
	switch {
	case action == actBack:
		p.show(w, r, t, e, clean(st), max(page-1, 0), http.StatusOK)
	case strings.HasPrefix(action, actGoto):
		to, err := strconv.Atoi(strings.TrimPrefix(action, actGoto))
		if err != nil || to < 0 || to > last {
			web.WriteError(w, r, errInvalid("_action %q names no page (0 to %d)", action, last))
			return
		}
		if to <= page {
			p.show(w, r, t, e, clean(st), to, http.StatusOK)
			return
		}
		p.forward(w, r, t, e, st, page, to)
	case action == actNext || action == "":
		p.forward(w, r, t, e, st, page, min(page+1, last))
	case action == actCreate:
		p.create(w, r, t, e, st)
	default:
		web.WriteError(w, r, errInvalid("_action must be next, back, create or goto:N, got %q", action))
	}
}

// clean drops errors when going back: only the page being left is kept
// as typed, nothing is judged.
func clean(st state) state {
	st.errs = map[string]string{}
	return st
}

// forward validates the pages from page up to before to, and shows to,
// or the first page with errors (422).
func (p *Pages) forward(w http.ResponseWriter, r *http.Request, t *scaffolder.Template, e *catalog.Entity, st state, page, to int) {
	for i := page; i < to && i < len(t.Pages); i++ {
		errs, err := pageErrors(t, i, st)
		if err != nil {
			web.WriteError(w, r, err)
			return
		}
		if len(errs) > 0 {
			st.errs = errs
			p.show(w, r, t, e, st, i, http.StatusUnprocessableEntity)
			return
		}
	}
	p.show(w, r, t, e, clean(st), to, http.StatusOK)
}

// pageErrors are the errors of page i: inputs that could not be read,
// then the schema's verdict.
func pageErrors(t *scaffolder.Template, i int, st state) (map[string]string, error) {
	s := t.Pages[i]
	names := fieldNames(s, nil, map[string]bool{})
	errs := map[string]string{}
	for name, msg := range st.errs {
		base, _, _ := strings.Cut(name, "#")
		if names[base] {
			errs[base] = msg
		}
	}
	verrs, err := validatePage(s, st.values)
	if err != nil {
		return nil, errInvalid("%s: page %d: %v", t.Ref, i+1, err)
	}
	for k, v := range verrs {
		if _, set := errs[k]; !set {
			errs[k] = v
		}
	}
	return errs, nil
}

// create validates every page, then creates the task as the caller and
// redirects to its page.
func (p *Pages) create(w http.ResponseWriter, r *http.Request, t *scaffolder.Template, e *catalog.Entity, st state) {
	for i := range t.Pages {
		errs, err := pageErrors(t, i, st)
		if err != nil {
			web.WriteError(w, r, err)
			return
		}
		if len(errs) > 0 {
			st.errs = errs
			p.show(w, r, t, e, st, i, http.StatusUnprocessableEntity)
			return
		}
	}
	if err := p.check(r, "scaffolder.task.create"); err != nil {
		web.WriteError(w, r, err)
		return
	}
	form := buildForm(t.Pages, st)
	values, secrets := splitSecrets(form, st.values)
	id, err := p.svc.Create(r.Context(), scaffolder.CreateParams{TemplateRef: t.Ref, Values: values, Secrets: secrets})
	var verr *scaffolder.ValidationErrors
	if errors.As(err, &verr) {
		// The whole schema found what the pages did not: show it where
		// it belongs.
		st.errs = map[string]string{}
		for _, ve := range verr.Errors {
			addErr(st.errs, allNames(t.Pages), ve.Path, ve.Message)
		}
		p.show(w, r, t, e, st, firstPageWithError(t.Pages, st.errs), http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	_ = audit.Record(r.Context(), audit.Event{Action: "scaffolder.task.create", Resource: "task:" + id, Outcome: audit.Succeeded,
		Status: http.StatusSeeOther, Details: map[string]any{"templateRef": t.Ref, "secrets": len(secrets), "via": "portal"}})
	http.Redirect(w, r, "/create/tasks/"+url.PathEscape(id), http.StatusSeeOther)
}

func allNames(pages []map[string]any) map[string]bool {
	names := map[string]bool{}
	for _, s := range pages {
		fieldNames(s, nil, names)
	}
	return names
}

// firstPageWithError is the page holding the first field with an error,
// or the review page for errors no field owns.
func firstPageWithError(pages []map[string]any, errs map[string]string) int {
	for i, s := range pages {
		for name := range fieldNames(s, nil, map[string]bool{}) {
			if _, ok := errs[name]; ok {
				return i
			}
		}
	}
	return len(pages)
}

// show renders the form at page (len(pages) is the review page).
func (p *Pages) show(w http.ResponseWriter, r *http.Request, t *scaffolder.Template, e *catalog.Entity, st state, page, status int) {
	form := buildForm(t.Pages, st)
	ref, _ := catalog.ParseRef(t.Ref, catalog.RefDefaults{})
	self := "/create/templates/" + url.PathEscape(ref.Namespace) + "/" + url.PathEscape(ref.Name)
	d := formData{
		Ref: t.Ref, Action: self, SuggestURL: self + "/suggest", CSRF: web.CSRFToken(r),
		Title: t.Title, Description: t.Description, EntityHref: refHref(t.Ref), Tags: e.Metadata.Tags,
		Form: form, Current: page, Review: page == len(t.Pages), General: st.errs[""],
		Back: "Back", Next: "Next", ReviewLabel: "Review", CreateLabel: "Create",
	}
	d.Type, _ = e.Spec["type"].(string)
	d.Owner, _ = e.Spec["owner"].(string)
	d.OwnerHref = refHref(d.Owner)
	if labels := asMap(t.Presentation["buttonLabels"]); labels != nil {
		for key, dst := range map[string]*string{"backButtonText": &d.Back, "createButtonText": &d.CreateLabel, "reviewButtonText": &d.ReviewLabel} {
			if s := str(labels, key); s != "" {
				*dst = s
			}
		}
	}
	for i, pg := range form.Pages {
		d.Steps = append(d.Steps, stepItem{Index: i, Title: pg.Title, Done: i < page, Current: i == page})
		if i == page {
			d.Problems = problems(pg.Fields, nil)
		}
	}
	d.Steps = append(d.Steps, stepItem{Index: len(form.Pages), Title: "Review", Current: d.Review})
	if d.Review {
		d.ReviewPages = review(form)
	}
	p.runs(r, t.Ref, &d)
	title := t.Title
	p.render(w, r, "form", d, portal.View{Title: title, Status: status,
		Breadcrumbs: []portal.Crumb{{Label: "Create", Href: "/create"}}})
}

// problems are the visible fields with errors, for the summary at the top.
func problems(fields []*Field, parents []string) []problem {
	var out []problem
	for _, f := range fields {
		if f.Hidden {
			continue
		}
		label := strings.Join(append(append([]string{}, parents...), f.Label()), " › ")
		if f.Error != "" {
			out = append(out, problem{ID: f.ID, Label: label, Message: f.Error})
		}
		if f.Widget == wObject {
			out = append(out, problems(f.Fields, append(append([]string{}, parents...), f.Label()))...)
		}
	}
	return out
}

// review lists every value of every page as the task will get it.
func review(form *Form) []reviewPage {
	var out []reviewPage
	for _, pg := range form.Pages {
		out = append(out, reviewPage{Index: pg.Index, Title: pg.Title, Rows: reviewRows(pg.Fields, nil)})
	}
	return out
}

func reviewRows(fields []*Field, parents []string) []reviewRow {
	var out []reviewRow
	for _, f := range fields {
		if f.Hidden || f.Widget == wHidden {
			continue
		}
		rv := asMap(asMap(f.schema["ui:backstage"])["review"])
		if show, ok := rv["show"].(bool); ok && !show {
			continue
		}
		label := strings.Join(append(append([]string{}, parents...), f.Label()), " › ")
		if f.Widget == wObject {
			out = append(out, reviewRows(f.Fields, append(append([]string{}, parents...), f.Label()))...)
			continue
		}
		row := reviewRow{Label: label}
		switch f.Widget {
		case wSecret:
			if f.Value != "" {
				row.Value = "******"
				if m := str(rv, "mask"); m != "" {
					row.Value = m
				}
			}
		case wCheckbox:
			row.Value = "No"
			if f.Checked {
				row.Value = "Yes"
			}
		case wSelect, wRadio:
			row.Value = f.Value
			for _, o := range f.Options {
				if o.Value == f.Value {
					row.Value = o.Label
				}
			}
		case wChecks:
			var labels []string
			for _, o := range f.Options {
				if f.OptionSelected(o) {
					labels = append(labels, o.Label)
				}
			}
			row.Value = strings.Join(labels, ", ")
		case wList, wTags:
			row.Value = strings.Join(f.Items, ", ")
		case wRepoURL:
			if f.Owner != "" || f.Repo != "" {
				row.Value = f.Host + "?owner=" + url.QueryEscape(f.Owner) + "&repo=" + url.QueryEscape(f.Repo)
			}
		default:
			row.Value = f.Value
		}
		row.Empty = row.Value == ""
		out = append(out, row)
	}
	return out
}

// runs fills the template's recent tasks: all of them for callers who may
// read every task, else their own.
func (p *Pages) runs(r *http.Request, ref string, d *formData) {
	params := scaffolder.ListParams{TemplateRef: ref, Limit: p.lim.RecentRuns}
	d.RunsAll = p.check(r, "scaffolder.task.read") == nil
	if !d.RunsAll {
		pr := auth.PrincipalFrom(r.Context())
		if pr == nil || pr.Ref == "" {
			return
		}
		params.CreatedBy = []string{pr.Ref}
	}
	tasks, _, err := p.svc.List(r.Context(), params)
	if err != nil {
		p.log.WarnContext(r.Context(), "listing a template's recent tasks", "template", ref, "error", err.Error())
		d.RunsError = "The recent runs could not be listed."
		return
	}
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].CreatedAt.After(tasks[j].CreatedAt) })
	for _, t := range tasks {
		d.Runs = append(d.Runs, runRow{ID: t.ID, Href: "/create/tasks/" + url.PathEscape(t.ID), Status: t.Status,
			Class: statusClass(t.Status), By: t.CreatedBy, Created: t.CreatedAt.UTC()})
	}
}

// statusClass is the badge colour of a task status.
func statusClass(s string) string {
	switch s {
	case scaffolder.StatusCompleted:
		return "ok"
	case scaffolder.StatusFailed:
		return "err"
	case scaffolder.StatusCancelled:
		return "warn"
	case scaffolder.StatusProcessing:
		return "info"
	}
	return ""
}
