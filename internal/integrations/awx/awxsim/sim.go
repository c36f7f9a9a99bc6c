// Package awxsim is an in-memory simulator of the subset of the AWX /
// Automation Controller REST API (/api/v2/) that Atrium's client uses:
// ping, job and workflow job templates, inventories, launch, jobs and
// workflow jobs, their stdout, workflow nodes and cancel. Jobs move from
// pending to running to successful (or failed, when launched with the
// extra var fail: true) over a few hundred milliseconds, printing
// plausible ansible-playbook output. Tests inject failures (status codes,
// Retry-After, slow answers) with Inject.
package awxsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Template is a simulated job or workflow job template.
type Template struct {
	ID                   int
	Name                 string
	Description          string
	Playbook             string
	Inventory            int
	Labels               []string
	AskVariablesOnLaunch bool
	AskInventoryOnLaunch bool
	AskLimitOnLaunch     bool
	// Nodes are the job templates a workflow runs (workflows only).
	Nodes []int
}

// Fault is an injected failure: requests whose method and path match
// (path prefix after /api/v2) are answered with Status (and RetryAfter
// seconds when > 0) after Delay, Times times (0: forever).
type Fault struct {
	Method     string
	Path       string
	Status     int
	RetryAfter int
	Delay      time.Duration
	Times      int
}

// Sim is the simulator; its zero value is not usable, call New.
type Sim struct {
	// Token, when set, is the only bearer token accepted.
	Token string
	// Pending and Running are how long a job stays in each status.
	Pending, Running time.Duration

	mu        sync.Mutex
	nextID    int
	templates map[int]*Template
	workflows map[int]*Template
	inv       map[int]string
	jobs      map[int]*job
	faults    []*Fault
	requests  map[string]int
	mux       *http.ServeMux
	now       func() time.Time
}

type job struct {
	id        int
	workflow  bool
	tmpl      *Template
	created   time.Time
	vars      map[string]any
	limit     string
	inventory int
	canceled  *time.Time
	parent    int
	children  []int
}

// New returns a simulator holding a demo controller's templates.
func New(token string) *Sim {
	s := &Sim{Token: token, Pending: 100 * time.Millisecond, Running: 300 * time.Millisecond, nextID: 100,
		templates: map[int]*Template{}, workflows: map[int]*Template{}, inv: map[int]string{}, jobs: map[int]*job{},
		requests: map[string]int{}, now: time.Now}
	s.inv[1] = "Demo Inventory"
	s.inv[2] = "production"
	s.AddTemplate(Template{ID: 7, Name: "Configure monitoring", Description: "Installs the monitoring agent and registers the service's dashboards.",
		Playbook: "monitoring.yml", Inventory: 1, Labels: []string{"atrium:component:payment-service", "atrium:component:invoice-service"}, AskVariablesOnLaunch: true, AskLimitOnLaunch: true, AskInventoryOnLaunch: true})
	s.AddTemplate(Template{ID: 8, Name: "Restart service", Description: "Rolling restart of a service's instances.",
		Playbook: "restart.yml", Inventory: 2, Labels: []string{"atrium:component:payment-service"}, AskVariablesOnLaunch: true, AskLimitOnLaunch: true})
	s.AddTemplate(Template{ID: 9, Name: "Patch hosts", Description: "Applies OS security updates.", Playbook: "patch.yml", Inventory: 2})
	s.AddWorkflow(Template{ID: 20, Name: "Onboard service", Description: "Monitoring, then a restart.", Nodes: []int{7, 8},
		AskVariablesOnLaunch: true, Labels: []string{"atrium:component:default/tracking-event-processor"}})
	s.routes()
	return s
}

// AddTemplate adds or replaces a job template.
func (s *Sim) AddTemplate(t Template) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates[t.ID] = &t
}

// AddWorkflow adds or replaces a workflow job template.
func (s *Sim) AddWorkflow(t Template) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workflows[t.ID] = &t
}

// Inject adds a fault.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests is how many requests reached METHOD path (path after /api/v2).
func (s *Sim) Requests(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[method+" "+path]
}

// Canceled reports whether job id was cancelled.
func (s *Sim) Canceled(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	return ok && j.canceled != nil
}

// LastVars are the extra vars of the newest job.
func (s *Sim) LastVars() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobs[s.nextID]; j != nil {
		return j.vars
	}
	return nil
}

const prefix = "/api/v2"

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+prefix+"/ping/{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"version": "24.6.1-sim", "active_node": "awx-sim", "ha": false})
	})
	m.HandleFunc("GET "+prefix+"/job_templates/{$}", s.listTemplates(false))
	m.HandleFunc("GET "+prefix+"/workflow_job_templates/{$}", s.listTemplates(true))
	m.HandleFunc("GET "+prefix+"/job_templates/{id}/{$}", s.getTemplate(false))
	m.HandleFunc("GET "+prefix+"/workflow_job_templates/{id}/{$}", s.getTemplate(true))
	m.HandleFunc("POST "+prefix+"/job_templates/{id}/launch/{$}", s.launch(false))
	m.HandleFunc("POST "+prefix+"/workflow_job_templates/{id}/launch/{$}", s.launch(true))
	m.HandleFunc("GET "+prefix+"/inventories/{$}", s.listInventories)
	m.HandleFunc("GET "+prefix+"/jobs/{$}", s.listJobs(false))
	m.HandleFunc("GET "+prefix+"/workflow_jobs/{$}", s.listJobs(true))
	m.HandleFunc("GET "+prefix+"/jobs/{id}/{$}", s.getJob(false))
	m.HandleFunc("GET "+prefix+"/workflow_jobs/{id}/{$}", s.getJob(true))
	m.HandleFunc("GET "+prefix+"/jobs/{id}/stdout/{$}", s.stdout)
	m.HandleFunc("GET "+prefix+"/jobs/{id}/job_events/{$}", s.events)
	m.HandleFunc("GET "+prefix+"/workflow_jobs/{id}/workflow_nodes/{$}", s.nodes)
	m.HandleFunc("POST "+prefix+"/jobs/{id}/cancel/{$}", s.cancel(false))
	m.HandleFunc("POST "+prefix+"/workflow_jobs/{id}/cancel/{$}", s.cancel(true))
	s.mux = m
}

// ServeHTTP answers the API under /api/v2/.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel := strings.TrimPrefix(r.URL.Path, prefix)
	s.mu.Lock()
	s.requests[r.Method+" "+rel]++
	var hit *Fault
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(rel, f.Path) {
			hit = f
			if f.Times > 0 {
				if f.Times--; f.Times == 0 {
					s.faults = slices.Delete(s.faults, i, i+1)
				}
			}
			break
		}
	}
	s.mu.Unlock()
	if hit != nil {
		if hit.Delay > 0 {
			select {
			case <-time.After(hit.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if hit.Status != 0 {
			if hit.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(hit.RetryAfter))
			}
			writeJSON(w, hit.Status, map[string]any{"detail": fmt.Sprintf("simulated %d", hit.Status)})
			return
		}
	}
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"detail": "Authentication credentials were not provided."})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not found."})
}

// paginate writes one page of items as DRF does.
func paginate(w http.ResponseWriter, r *http.Request, items []any) {
	size, _ := strconv.Atoi(r.URL.Query().Get("page_size"))
	if size <= 0 {
		size = 25
	}
	size = min(size, 200)
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	start := min((pg-1)*size, len(items))
	end := min(start+size, len(items))
	var next any
	if end < len(items) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(pg+1))
		path := r.URL.Path
		if i := strings.Index(path, prefix); i >= 0 {
			path = path[i:]
		}
		next = path + "?" + q.Encode()
	}
	writeJSON(w, 200, map[string]any{"count": len(items), "next": next, "previous": nil, "results": items[start:end]})
}

func (s *Sim) templateJSON(t *Template, workflow bool) map[string]any {
	typ := "job_template"
	if workflow {
		typ = "workflow_job_template"
	}
	labels := []any{}
	for i, l := range t.Labels {
		labels = append(labels, map[string]any{"id": i + 1, "name": l})
	}
	out := map[string]any{"id": t.ID, "type": typ, "name": t.Name, "description": t.Description,
		"url":                     fmt.Sprintf("%s/%ss/%d/", prefix, typ, t.ID),
		"ask_variables_on_launch": t.AskVariablesOnLaunch, "ask_inventory_on_launch": t.AskInventoryOnLaunch,
		"ask_limit_on_launch": t.AskLimitOnLaunch, "survey_enabled": false,
		"modified": "2026-11-20T10:00:00Z",
		"summary_fields": map[string]any{"labels": map[string]any{"count": len(labels), "results": labels},
			"organization": map[string]any{"id": 1, "name": "Default"}}}
	if !workflow {
		out["playbook"] = t.Playbook
		out["inventory"] = t.Inventory
	}
	return out
}

func (s *Sim) set(workflow bool) map[int]*Template {
	if workflow {
		return s.workflows
	}
	return s.templates
}

func (s *Sim) listTemplates(workflow bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var ts []*Template
		for _, t := range s.set(workflow) {
			if n := r.URL.Query().Get("name"); n == "" || n == t.Name {
				ts = append(ts, t)
			}
		}
		slices.SortFunc(ts, func(a, b *Template) int { return strings.Compare(a.Name, b.Name) })
		var items []any
		for _, t := range ts {
			items = append(items, s.templateJSON(t, workflow))
		}
		s.mu.Unlock()
		paginate(w, r, items)
	}
}

func (s *Sim) getTemplate(workflow bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.set(workflow)[id]
		if !ok {
			notFound(w)
			return
		}
		writeJSON(w, 200, s.templateJSON(t, workflow))
	}
}

func (s *Sim) listInventories(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ids := slices.Sorted(func(yield func(int) bool) {
		for id := range s.inv {
			if !yield(id) {
				return
			}
		}
	})
	var items []any
	for _, id := range ids {
		if n := r.URL.Query().Get("name"); n == "" || n == s.inv[id] {
			items = append(items, map[string]any{"id": id, "name": s.inv[id]})
		}
	}
	s.mu.Unlock()
	paginate(w, r, items)
}

func (s *Sim) launch(workflow bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		var body map[string]any
		if r.ContentLength != 0 {
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				writeJSON(w, 400, map[string]any{"detail": "JSON parse error - " + err.Error()})
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.set(workflow)[id]
		if !ok {
			notFound(w)
			return
		}
		ignored := map[string]any{}
		j := &job{workflow: workflow, tmpl: t, created: s.now(), inventory: t.Inventory}
		for k, v := range body {
			switch k {
			case "extra_vars":
				vars, ok := v.(map[string]any)
				if str, isStr := v.(string); isStr {
					ok = json.Unmarshal([]byte(str), &vars) == nil
				}
				if !ok {
					writeJSON(w, 400, map[string]any{"extra_vars": []string{"Must be a valid JSON or YAML dictionary."}})
					return
				}
				if t.AskVariablesOnLaunch {
					j.vars = vars
				} else {
					ignored[k] = v
				}
			case "inventory":
				n, _ := v.(float64)
				if _, exists := s.inv[int(n)]; !exists {
					writeJSON(w, 400, map[string]any{"inventory": []string{fmt.Sprintf("Invalid pk \"%v\" - object does not exist.", v)}})
					return
				}
				if t.AskInventoryOnLaunch && !workflow {
					j.inventory = int(n)
				} else {
					ignored[k] = v
				}
			case "limit":
				if t.AskLimitOnLaunch && !workflow {
					j.limit, _ = v.(string)
				} else {
					ignored[k] = v
				}
			default:
				ignored[k] = v
			}
		}
		s.nextID++
		j.id = s.nextID
		s.jobs[j.id] = j
		if workflow {
			for _, n := range t.Nodes {
				if nt, ok := s.templates[n]; ok {
					s.nextID++
					s.jobs[s.nextID] = &job{id: s.nextID, tmpl: nt, created: j.created, vars: j.vars, inventory: nt.Inventory, parent: j.id}
					j.children = append(j.children, s.nextID)
				}
			}
		}
		out := s.jobJSON(j)
		if workflow {
			out["workflow_job"] = j.id
		} else {
			out["job"] = j.id
		}
		out["ignored_fields"] = ignored
		w.Header().Set("Location", out["url"].(string))
		writeJSON(w, http.StatusCreated, out)
	}
}

// status is where j is in its life now.
func (s *Sim) status(j *job) string {
	if j.canceled != nil && j.canceled.Sub(j.created) < s.Pending+s.Running {
		return "canceled"
	}
	age := s.now().Sub(j.created)
	switch {
	case age < s.Pending:
		return "pending"
	case age < s.Pending+s.Running:
		return "running"
	case j.vars["fail"] == true:
		return "failed"
	default:
		return "successful"
	}
}

func (s *Sim) jobJSON(j *job) map[string]any {
	st := s.status(j)
	typ, path := "job", "jobs"
	if j.workflow {
		typ, path = "workflow_job", "workflow_jobs"
	}
	out := map[string]any{"id": j.id, "type": typ, "name": j.tmpl.Name, "status": st, "failed": st == "failed" || st == "error",
		"url": fmt.Sprintf("%s/%s/%d/", prefix, path, j.id), "created": j.created.UTC().Format(time.RFC3339Nano),
		"started": nil, "finished": nil, "elapsed": 0.0, "job_explanation": "", "extra_vars": mustJSON(j.vars),
		"launched_by": map[string]any{"id": 1, "name": "atrium", "type": "user"},
		"related":     map[string]any{"stdout": fmt.Sprintf("%s/%s/%d/stdout/", prefix, path, j.id), "cancel": fmt.Sprintf("%s/%s/%d/cancel/", prefix, path, j.id)}}
	if j.workflow {
		out["workflow_job_template"] = j.tmpl.ID
	} else {
		out["job_template"] = j.tmpl.ID
		out["inventory"] = j.inventory
		out["limit"] = j.limit
		out["playbook"] = j.tmpl.Playbook
	}
	if st != "pending" {
		started := j.created.Add(s.Pending)
		out["started"] = started.UTC().Format(time.RFC3339Nano)
		if st != "running" {
			end := started.Add(s.Running)
			if j.canceled != nil && j.canceled.Before(end) {
				end = *j.canceled
				out["job_explanation"] = "Job was canceled."
			}
			out["finished"] = end.UTC().Format(time.RFC3339Nano)
			out["elapsed"] = end.Sub(started).Seconds()
		}
	}
	return out
}

func mustJSON(v any) string {
	if v == nil {
		return "{}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Sim) listJobs(workflow bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		key := "job_template"
		if workflow {
			key = "workflow_job_template"
		}
		want, _ := strconv.Atoi(q.Get(key))
		s.mu.Lock()
		var js []*job
		for _, j := range s.jobs {
			if j.workflow == workflow && (want == 0 || j.tmpl.ID == want) {
				js = append(js, j)
			}
		}
		slices.SortFunc(js, func(a, b *job) int { return b.id - a.id })
		if q.Get("order_by") == "id" {
			slices.Reverse(js)
		}
		var items []any
		for _, j := range js {
			items = append(items, s.jobJSON(j))
		}
		s.mu.Unlock()
		paginate(w, r, items)
	}
}

func (s *Sim) find(w http.ResponseWriter, r *http.Request, workflow bool) *job {
	id, _ := strconv.Atoi(r.PathValue("id"))
	j, ok := s.jobs[id]
	if !ok || j.workflow != workflow {
		notFound(w)
		return nil
	}
	return j
}

func (s *Sim) getJob(workflow bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if j := s.find(w, r, workflow); j != nil {
			writeJSON(w, 200, s.jobJSON(j))
		}
	}
}

// output is j's full output at its current status.
func (s *Sim) output(j *job) []string {
	st := s.status(j)
	if st == "pending" {
		return nil
	}
	host := "localhost"
	if j.limit != "" {
		host = j.limit
	}
	lines := []string{
		"Identity added: /runner/artifacts/" + strconv.Itoa(j.id) + "/ssh_key_data",
		"",
		fmt.Sprintf("PLAY [%s] %s", j.tmpl.Name, strings.Repeat("*", 40)),
		"",
		"TASK [Gathering Facts] " + strings.Repeat("*", 40),
		"ok: [" + host + "]",
		"",
	}
	if st == "running" {
		return lines
	}
	if len(j.vars) > 0 {
		lines = append(lines, "TASK [Show variables] "+strings.Repeat("*", 40), "ok: ["+host+"] => "+mustJSON(j.vars), "")
	}
	changed, failed := 1, 0
	if st == "failed" {
		failed = 1
		lines = append(lines, "TASK [Apply "+j.tmpl.Playbook+"] "+strings.Repeat("*", 40),
			"fatal: ["+host+"]: FAILED! => {\"changed\": false, \"msg\": \"simulated failure (extra var fail: true)\"}", "")
		changed = 0
	} else if st == "canceled" {
		return append(lines, "[WARNING]: The job was canceled.")
	} else {
		lines = append(lines, "TASK [Apply "+j.tmpl.Playbook+"] "+strings.Repeat("*", 40), "changed: ["+host+"]", "")
	}
	return append(lines, "PLAY RECAP "+strings.Repeat("*", 40),
		fmt.Sprintf("%s : ok=%d changed=%d unreachable=0 failed=%d skipped=0 rescued=0 ignored=0", host, 2+changed-failed, changed, failed), "")
}

func (s *Sim) stdout(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.find(w, r, false)
	if j == nil {
		s.mu.Unlock()
		return
	}
	lines := s.output(j)
	s.mu.Unlock()
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start_line"))
	start = min(max(start, 0), len(lines))
	end := len(lines)
	if e, err := strconv.Atoi(q.Get("end_line")); err == nil {
		end = min(max(e, start), len(lines))
	}
	content := ""
	if end > start {
		content = strings.Join(lines[start:end], "\n") + "\n"
	}
	switch q.Get("format") {
	case "json":
		writeJSON(w, 200, map[string]any{"range": map[string]any{"start": start, "end": end, "absolute_end": len(lines)}, "content": content})
	case "txt", "":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(content))
	default:
		writeJSON(w, 400, map[string]any{"detail": "format: this simulator serves txt and json"})
	}
}

func (s *Sim) events(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.find(w, r, false)
	if j == nil {
		s.mu.Unlock()
		return
	}
	lines := s.output(j)
	final := s.status(j) != "pending" && s.status(j) != "running"
	s.mu.Unlock()
	after, _ := strconv.Atoi(r.URL.Query().Get("counter__gt"))
	var items []any
	for i, l := range lines {
		if i+1 <= after {
			continue
		}
		items = append(items, map[string]any{"counter": i + 1, "event": "verbose", "stdout": l, "start_line": i, "end_line": i + 1})
	}
	if final {
		items = append(items, map[string]any{"counter": len(lines) + 1, "event": "playbook_on_stats", "stdout": "", "start_line": len(lines), "end_line": len(lines)})
	}
	paginate(w, r, items)
}

func (s *Sim) nodes(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.find(w, r, true)
	if j == nil {
		s.mu.Unlock()
		return
	}
	var items []any
	for i, c := range j.children {
		cj := s.jobs[c]
		items = append(items, map[string]any{"id": j.id*10 + i, "summary_fields": map[string]any{
			"job": map[string]any{"id": cj.id, "name": cj.tmpl.Name, "status": s.status(cj)}}})
	}
	s.mu.Unlock()
	paginate(w, r, items)
}

func (s *Sim) cancel(workflow bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		j := s.find(w, r, workflow)
		if j == nil {
			return
		}
		if st := s.status(j); st != "pending" && st != "running" {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"detail": "Method \"POST\" not allowed."})
			return
		}
		now := s.now()
		j.canceled = &now
		for _, c := range j.children {
			s.jobs[c].canceled = &now
		}
		w.WriteHeader(http.StatusAccepted)
	}
}
