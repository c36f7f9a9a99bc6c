// Package tfcsim is an in-memory simulator of the subset of the HCP
// Terraform / Terraform Enterprise API (JSON:API under /api/v2) that
// Atrium's client makes through go-tfe: ping (with the TFP-API-Version
// headers go-tfe reads), projects, workspaces and their tags, variables,
// configuration versions with the tar.gz upload, runs (plan, policy
// check, confirm, apply, cancel) and the current state version outputs.
//
// Runs move pending → planning → planned → policy_checking →
// policy_checked, wait for a confirmation unless auto-apply is on, then
// apply_queued → applying → applied, one Step apart. The uploaded
// configuration steers them: a file containing "sim:plan-error" errors
// at planning, "sim:policy-fail" ends in policy_soft_failed. Outputs are
// read from the configuration's output blocks (value strings; sensitive
// = true is honoured). Tests inject failures with Inject.
package tfcsim

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tfe "github.com/hashicorp/go-tfe"
	"github.com/hashicorp/jsonapi"
)

// Fault is an injected failure: requests whose method and path (after
// /api/v2) match are answered with Status (Retry-After seconds when > 0)
// after Delay, Times times (0: forever).
type Fault struct {
	Method     string
	Path       string
	Status     int
	RetryAfter int
	Delay      time.Duration
	Times      int
}

// Sim is the simulator; create it with New.
type Sim struct {
	// Token, when set, is the only bearer token accepted.
	Token string
	// Step is how long a run stays in each status.
	Step time.Duration
	// Base is the URL prefix of upload URLs the simulator hands out
	// (its own address as clients reach it).
	Base string

	mu       sync.Mutex
	seq      int
	orgs     map[string]bool
	projects map[string]*tfe.Project // by id
	ws       map[string]*workspace   // by id
	cvs      map[string]*cv
	runs     map[string]*run
	faults   []*Fault
	requests map[string]int
	mux      *http.ServeMux
}

type workspace struct {
	tfe.Workspace
	org     string
	vars    []*tfe.Variable
	outputs []*tfe.StateVersionOutput
	runs    []string
}

type cv struct {
	id       string
	ws       string
	uploaded bool
	files    map[string]string
}

type run struct {
	id        string
	ws        string
	cv        string
	message   string
	autoApply bool
	created   time.Time
	confirmed *time.Time
	canceled  *time.Time
	adds      int
}

// New returns a simulator knowing the organizations orgs, each with a
// "Default Project".
func New(token string, orgs ...string) *Sim {
	s := &Sim{Token: token, Step: 60 * time.Millisecond, orgs: map[string]bool{}, projects: map[string]*tfe.Project{},
		ws: map[string]*workspace{}, cvs: map[string]*cv{}, runs: map[string]*run{}, requests: map[string]int{}}
	for _, o := range orgs {
		s.orgs[o] = true
		id := "prj-" + o
		s.projects[id] = &tfe.Project{ID: id, Name: "Default Project", Organization: &tfe.Organization{Name: o}}
	}
	s.routes()
	return s
}

// AddProject adds a project to org and returns its id.
func (s *Sim) AddProject(org, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.id("prj")
	s.projects[id] = &tfe.Project{ID: id, Name: name, Organization: &tfe.Organization{Name: org}}
	return id
}

// Inject adds a fault.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests is how many requests reached METHOD path (after /api/v2).
func (s *Sim) Requests(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[method+" "+path]
}

// Variable returns a workspace's variable by key (nil when missing).
func (s *Sim) Variable(org, workspace, key string) *tfe.Variable {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.byName(org, workspace); w != nil {
		for _, v := range w.vars {
			if v.Key == key {
				c := *v
				return &c
			}
		}
	}
	return nil
}

// Files returns the files of a run's uploaded configuration.
func (s *Sim) Files(runID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.runs[runID]; r != nil {
		if c := s.cvs[r.cv]; c != nil {
			return c.files
		}
	}
	return nil
}

// Canceled reports whether run id was cancelled.
func (s *Sim) Canceled(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runs[id]
	return r != nil && r.canceled != nil
}

// Runs counts the runs created in a workspace.
func (s *Sim) Runs(org, workspace string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.byName(org, workspace); w != nil {
		return len(w.runs)
	}
	return 0
}

func (s *Sim) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-sim%06d", prefix, s.seq)
}

func (s *Sim) byName(org, name string) *workspace {
	for _, w := range s.ws {
		if w.org == org && w.Name == name {
			return w
		}
	}
	return nil
}

const prefix = "/api/v2"

func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+prefix+"/ping", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	m.HandleFunc("GET "+prefix+"/organizations/{org}/projects", s.listProjects)
	m.HandleFunc("GET "+prefix+"/organizations/{org}/workspaces/{name}", s.readWorkspace)
	m.HandleFunc("POST "+prefix+"/organizations/{org}/workspaces", s.createWorkspace)
	m.HandleFunc("PATCH "+prefix+"/organizations/{org}/workspaces/{name}", s.updateWorkspace)
	m.HandleFunc("POST "+prefix+"/workspaces/{id}/relationships/tags", s.addTags)
	m.HandleFunc("GET "+prefix+"/workspaces/{id}/vars", s.listVars)
	m.HandleFunc("POST "+prefix+"/workspaces/{id}/vars", s.createVar)
	m.HandleFunc("PATCH "+prefix+"/workspaces/{id}/vars/{var}", s.updateVar)
	m.HandleFunc("POST "+prefix+"/workspaces/{id}/configuration-versions", s.createCV)
	m.HandleFunc("GET "+prefix+"/configuration-versions/{id}", s.readCV)
	m.HandleFunc("PUT /_archivist/{id}", s.upload)
	m.HandleFunc("POST "+prefix+"/runs", s.createRun)
	m.HandleFunc("GET "+prefix+"/runs/{id}", s.readRun)
	m.HandleFunc("GET "+prefix+"/workspaces/{id}/runs", s.listRuns)
	m.HandleFunc("POST "+prefix+"/runs/{id}/actions/apply", s.applyRun)
	m.HandleFunc("POST "+prefix+"/runs/{id}/actions/cancel", s.cancelRun)
	m.HandleFunc("GET "+prefix+"/workspaces/{id}/current-state-version-outputs", s.outputs)
	s.mux = m
}

// ServeHTTP answers the API.
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
	w.Header().Set("TFP-API-Version", "2.6")
	w.Header().Set("TFP-AppName", "HCP Terraform (simulated)")
	w.Header().Set("X-RateLimit-Limit", "1000")
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
				w.Header().Set("X-RateLimit-Reset", strconv.Itoa(hit.RetryAfter))
			}
			writeErr(w, hit.Status, fmt.Sprintf("simulated %d", hit.Status))
			return
		}
	}
	if !strings.HasPrefix(r.URL.Path, "/_archivist/") && rel != "/ping" && s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeErr(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func writeErr(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", jsonapi.MediaType)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"status":"%d","title":%q,"detail":%q}]}`, status, http.StatusText(status), detail)
}

func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonapi.MediaType)
	w.WriteHeader(status)
	if err := jsonapi.MarshalPayload(w, v); err != nil {
		panic(err)
	}
}

// writeList writes one page of items with go-tfe's pagination meta.
func writeList[T any](w http.ResponseWriter, r *http.Request, items []T) {
	size, _ := strconv.Atoi(r.URL.Query().Get("page[size]"))
	if size <= 0 {
		size = 20
	}
	pg, _ := strconv.Atoi(r.URL.Query().Get("page[number]"))
	pg = max(pg, 1)
	start := min((pg-1)*size, len(items))
	end := min(start+size, len(items))
	payload, err := jsonapi.Marshal(items[start:end])
	if err != nil {
		panic(err)
	}
	many := payload.(*jsonapi.ManyPayload)
	pages := (len(items) + size - 1) / size
	next := any(nil)
	if pg < pages {
		next = pg + 1
	}
	many.Meta = &jsonapi.Meta{"pagination": map[string]any{"current-page": pg, "next-page": next, "total-pages": pages, "total-count": len(items)}}
	w.Header().Set("Content-Type", jsonapi.MediaType)
	w.WriteHeader(200)
	_ = json.NewEncoder(w).Encode(many)
}

func (s *Sim) listProjects(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	s.mu.Lock()
	if !s.orgs[org] {
		s.mu.Unlock()
		writeErr(w, 404, "organization not found")
		return
	}
	var out []*tfe.Project
	for _, p := range s.projects {
		if p.Organization.Name == org && (r.URL.Query().Get("filter[names]") == "" || r.URL.Query().Get("filter[names]") == p.Name) {
			out = append(out, p)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *tfe.Project) int { return strings.Compare(a.Name, b.Name) })
	writeList(w, r, out)
}

func (s *Sim) wsOut(ws *workspace) *tfe.Workspace {
	out := ws.Workspace
	if out.Project != nil {
		out.Project = s.projects[out.Project.ID]
	}
	return &out
}

func (s *Sim) readWorkspace(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.byName(r.PathValue("org"), r.PathValue("name"))
	if ws == nil {
		writeErr(w, 404, "not found")
		return
	}
	write(w, 200, s.wsOut(ws))
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,90}$`)

func (s *Sim) createWorkspace(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	opts := &tfe.WorkspaceCreateOptions{}
	if err := jsonapi.UnmarshalPayload(r.Body, opts); err != nil {
		writeErr(w, 400, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.orgs[org] {
		writeErr(w, 404, "organization not found")
		return
	}
	if opts.Name == nil || !validName.MatchString(*opts.Name) {
		writeErr(w, 422, "Name can only include letters, numbers, -, and _.")
		return
	}
	if s.byName(org, *opts.Name) != nil {
		writeErr(w, 422, "Name has already been taken")
		return
	}
	ws := &workspace{org: org}
	ws.ID = s.id("ws")
	ws.Name = *opts.Name
	ws.Organization = &tfe.Organization{Name: org}
	ws.ExecutionMode = "remote"
	ws.Project = &tfe.Project{ID: "prj-" + org}
	if opts.Project != nil {
		p, ok := s.projects[opts.Project.ID]
		if !ok || p.Organization.Name != org {
			writeErr(w, 422, "project not found")
			return
		}
		ws.Project = &tfe.Project{ID: p.ID}
	}
	s.applyWS(ws, opts.AutoApply, opts.ExecutionMode, opts.WorkingDirectory, opts.Description, opts.TerraformVersion)
	ws.Permissions = &tfe.WorkspacePermissions{CanQueueRun: true, CanQueueApply: true, CanUpdate: true, CanUpdateVariable: true}
	ws.Actions = &tfe.WorkspaceActions{}
	s.ws[ws.ID] = ws
	write(w, 201, s.wsOut(ws))
}

func (s *Sim) applyWS(ws *workspace, autoApply *bool, mode, dir, desc, tfv *string) {
	if autoApply != nil {
		ws.AutoApply = *autoApply
	}
	if mode != nil {
		ws.ExecutionMode = *mode
	}
	if dir != nil {
		ws.WorkingDirectory = *dir
	}
	if desc != nil {
		ws.Description = *desc
	}
	if tfv != nil {
		ws.TerraformVersion = *tfv
	}
}

func (s *Sim) updateWorkspace(w http.ResponseWriter, r *http.Request) {
	opts := &tfe.WorkspaceUpdateOptions{}
	if err := jsonapi.UnmarshalPayload(r.Body, opts); err != nil {
		writeErr(w, 400, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.byName(r.PathValue("org"), r.PathValue("name"))
	if ws == nil {
		writeErr(w, 404, "not found")
		return
	}
	if opts.Project != nil {
		if _, ok := s.projects[opts.Project.ID]; !ok {
			writeErr(w, 422, "project not found")
			return
		}
		ws.Project = &tfe.Project{ID: opts.Project.ID}
	}
	s.applyWS(ws, opts.AutoApply, opts.ExecutionMode, opts.WorkingDirectory, opts.Description, opts.TerraformVersion)
	write(w, 200, s.wsOut(ws))
}

func (s *Sim) addTags(w http.ResponseWriter, r *http.Request) {
	items, err := jsonapi.UnmarshalManyPayload(r.Body, reflect.TypeOf(&tfe.Tag{}))
	if err != nil {
		writeErr(w, 400, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.ws[r.PathValue("id")]
	if ws == nil {
		writeErr(w, 404, "not found")
		return
	}
	for _, it := range items {
		if t := it.(*tfe.Tag); t.Name != "" && !slices.Contains(ws.TagNames, t.Name) {
			ws.TagNames = append(ws.TagNames, t.Name)
		}
	}
	slices.Sort(ws.TagNames)
	w.WriteHeader(http.StatusNoContent)
}

// masked is v as the API shows it: sensitive values have no value.
func masked(v *tfe.Variable) *tfe.Variable {
	c := *v
	if c.Sensitive {
		c.Value = ""
	}
	return &c
}

func (s *Sim) listVars(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ws := s.ws[r.PathValue("id")]
	if ws == nil {
		s.mu.Unlock()
		writeErr(w, 404, "not found")
		return
	}
	var out []*tfe.Variable
	for _, v := range ws.vars {
		out = append(out, masked(v))
	}
	s.mu.Unlock()
	writeList(w, r, out)
}

// varOptions is the body of a variable create or update (jsonapi cannot
// decode go-tfe's *CategoryType).
type varOptions struct {
	Type        string  `jsonapi:"primary,vars"`
	Key         *string `jsonapi:"attr,key,omitempty"`
	Value       *string `jsonapi:"attr,value,omitempty"`
	Description *string `jsonapi:"attr,description,omitempty"`
	Category    *string `jsonapi:"attr,category,omitempty"`
	HCL         *bool   `jsonapi:"attr,hcl,omitempty"`
	Sensitive   *bool   `jsonapi:"attr,sensitive,omitempty"`
}

func (s *Sim) createVar(w http.ResponseWriter, r *http.Request) {
	opts := &varOptions{}
	if err := jsonapi.UnmarshalPayload(r.Body, opts); err != nil {
		writeErr(w, 400, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.ws[r.PathValue("id")]
	if ws == nil {
		writeErr(w, 404, "not found")
		return
	}
	if opts.Key == nil || *opts.Key == "" || opts.Category == nil || (*opts.Category != "terraform" && *opts.Category != "env") {
		writeErr(w, 422, "Key can't be blank; Category must be terraform or env")
		return
	}
	for _, v := range ws.vars {
		if v.Key == *opts.Key && string(v.Category) == *opts.Category {
			writeErr(w, 422, "Key has already been taken")
			return
		}
	}
	v := &tfe.Variable{ID: s.id("var"), Key: *opts.Key, Category: tfe.CategoryType(*opts.Category), Workspace: &tfe.Workspace{ID: ws.ID}}
	setVar(v, opts.Value, opts.Description, opts.HCL, opts.Sensitive)
	ws.vars = append(ws.vars, v)
	write(w, 201, masked(v))
}

func setVar(v *tfe.Variable, value, desc *string, hcl, sensitive *bool) {
	if value != nil {
		v.Value = *value
	}
	if desc != nil {
		v.Description = *desc
	}
	if hcl != nil {
		v.HCL = *hcl
	}
	if sensitive != nil {
		v.Sensitive = v.Sensitive || *sensitive // a sensitive variable stays sensitive
	}
}

func (s *Sim) updateVar(w http.ResponseWriter, r *http.Request) {
	opts := &varOptions{}
	if err := jsonapi.UnmarshalPayload(r.Body, opts); err != nil {
		writeErr(w, 400, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.ws[r.PathValue("id")]
	if ws == nil {
		writeErr(w, 404, "not found")
		return
	}
	for _, v := range ws.vars {
		if v.ID == r.PathValue("var") {
			setVar(v, opts.Value, opts.Description, opts.HCL, opts.Sensitive)
			write(w, 200, masked(v))
			return
		}
	}
	writeErr(w, 404, "not found")
}

func (s *Sim) cvOut(c *cv) *tfe.ConfigurationVersion {
	st := tfe.ConfigurationPending
	if c.uploaded {
		st = tfe.ConfigurationUploaded
	}
	return &tfe.ConfigurationVersion{ID: c.id, Status: st, Source: tfe.ConfigurationSourceAPI,
		UploadURL: strings.TrimSuffix(s.Base, "/") + "/_archivist/" + c.id}
}

func (s *Sim) createCV(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.ws[r.PathValue("id")]
	if ws == nil {
		writeErr(w, 404, "not found")
		return
	}
	c := &cv{id: s.id("cv"), ws: ws.ID}
	s.cvs[c.id] = c
	write(w, 201, s.cvOut(c))
}

func (s *Sim) readCV(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cvs[r.PathValue("id")]
	if c == nil {
		writeErr(w, 404, "not found")
		return
	}
	write(w, 200, s.cvOut(c))
}

// maxUpload bounds an uploaded configuration.
const maxUpload = 64 << 20

func (s *Sim) upload(w http.ResponseWriter, r *http.Request) {
	files := map[string]string{}
	zr, err := gzip.NewReader(io.LimitReader(r.Body, maxUpload))
	if err != nil {
		http.Error(w, "not a tar.gz: "+err.Error(), 400)
		return
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, "bad tar: "+err.Error(), 400)
			return
		}
		if h.Typeflag == tar.TypeReg {
			var b bytes.Buffer
			_, _ = io.Copy(&b, io.LimitReader(tr, 1<<20))
			files[h.Name] = b.String()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cvs[r.PathValue("id")]
	if c == nil {
		http.Error(w, "no such upload", 404)
		return
	}
	c.files, c.uploaded = files, true
	w.WriteHeader(200)
}

func (s *Sim) createRun(w http.ResponseWriter, r *http.Request) {
	opts := &tfe.RunCreateOptions{}
	if err := jsonapi.UnmarshalPayload(r.Body, opts); err != nil {
		writeErr(w, 400, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts.Workspace == nil || s.ws[opts.Workspace.ID] == nil {
		writeErr(w, 404, "workspace not found")
		return
	}
	ws := s.ws[opts.Workspace.ID]
	if !ws.Permissions.CanQueueRun {
		writeErr(w, 403, "forbidden")
		return
	}
	rn := &run{id: s.id("run"), ws: ws.ID, created: time.Now(), autoApply: ws.AutoApply}
	if opts.AutoApply != nil {
		rn.autoApply = *opts.AutoApply
	}
	if opts.Message != nil {
		rn.message = *opts.Message
	}
	if opts.ConfigurationVersion != nil {
		c := s.cvs[opts.ConfigurationVersion.ID]
		if c == nil || c.ws != ws.ID {
			writeErr(w, 422, "configuration version not found in this workspace")
			return
		}
		if !c.uploaded {
			writeErr(w, 409, "configuration version is not uploaded yet")
			return
		}
		rn.cv = c.id
		for _, f := range c.files {
			rn.adds += strings.Count(f, "resource \"")
		}
	}
	s.runs[rn.id] = rn
	ws.runs = append(ws.runs, rn.id)
	write(w, 201, s.runOut(rn))
}

// contains reports whether the run's configuration has marker.
func (s *Sim) contains(rn *run, marker string) bool {
	if c := s.cvs[rn.cv]; c != nil {
		for _, f := range c.files {
			if strings.Contains(f, marker) {
				return true
			}
		}
	}
	return false
}

// status is where rn is now, and whether it waits for a confirmation.
func (s *Sim) status(rn *run) (tfe.RunStatus, bool) {
	now := time.Now()
	at := func(steps int) time.Time { return rn.created.Add(time.Duration(steps) * s.Step) }
	if rn.canceled != nil {
		return tfe.RunCanceled, false
	}
	pre := []tfe.RunStatus{tfe.RunPending, tfe.RunPlanning, tfe.RunPlanned, tfe.RunPolicyChecking, tfe.RunPolicyChecked}
	for i, st := range pre {
		if now.Before(at(i + 1)) {
			if st == tfe.RunPlanning || st == tfe.RunPending {
				return st, false
			}
			if st == tfe.RunPlanned && s.contains(rn, "sim:plan-error") {
				return tfe.RunErrored, false
			}
			return st, false
		}
	}
	if s.contains(rn, "sim:plan-error") {
		return tfe.RunErrored, false
	}
	if s.contains(rn, "sim:policy-fail") {
		return tfe.RunPolicySoftFailed, false
	}
	confirmed := rn.confirmed
	if rn.autoApply {
		t := at(len(pre))
		confirmed = &t
	}
	if confirmed == nil {
		return tfe.RunPolicyChecked, true
	}
	switch since := now.Sub(*confirmed); {
	case since < s.Step:
		return tfe.RunApplyQueued, false
	case since < 2*s.Step:
		return tfe.RunApplying, false
	}
	s.finishApply(rn)
	return tfe.RunApplied, false
}

var outputBlock = regexp.MustCompile(`(?s)output\s+"([A-Za-z0-9_-]+)"\s*\{(.*?)\n\}`)
var valueString = regexp.MustCompile(`value\s*=\s*"([^"]*)"`)

// finishApply records the outputs of an applied run once.
func (s *Sim) finishApply(rn *run) {
	ws := s.ws[rn.ws]
	if ws.CurrentRun != nil && ws.CurrentRun.ID == rn.id {
		return
	}
	ws.CurrentRun = &tfe.Run{ID: rn.id}
	ws.outputs = nil
	if c := s.cvs[rn.cv]; c != nil {
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range c.files {
				if !yield(n) {
					return
				}
			}
		})
		for _, n := range names {
			for _, m := range outputBlock.FindAllStringSubmatch(c.files[n], -1) {
				val := "sim-" + m[1]
				if v := valueString.FindStringSubmatch(m[2]); v != nil {
					val = v[1]
				}
				ws.outputs = append(ws.outputs, &tfe.StateVersionOutput{ID: s.id("wsout"), Name: m[1], Type: "string", Value: val,
					Sensitive: regexp.MustCompile(`sensitive\s*=\s*true`).MatchString(m[2])})
			}
		}
	}
}

func (s *Sim) runOut(rn *run) *tfe.Run {
	st, confirmable := s.status(rn)
	planStatus := tfe.PlanPending
	switch st {
	case tfe.RunPlanning:
		planStatus = tfe.PlanRunning
	case tfe.RunErrored:
		planStatus = tfe.PlanErrored
	case tfe.RunPending:
	default:
		planStatus = tfe.PlanFinished
	}
	applyStatus := tfe.ApplyPending
	switch st {
	case tfe.RunApplying:
		applyStatus = tfe.ApplyRunning
	case tfe.RunApplied:
		applyStatus = tfe.ApplyFinished
	case tfe.RunCanceled:
		applyStatus = tfe.ApplyCanceled
	}
	final := st == tfe.RunApplied || st == tfe.RunErrored || st == tfe.RunCanceled || st == tfe.RunPolicySoftFailed
	return &tfe.Run{ID: rn.id, Status: st, Message: rn.message, AutoApply: rn.autoApply, CreatedAt: rn.created, HasChanges: rn.adds > 0,
		Source: tfe.RunSourceAPI, TriggerReason: "manual",
		Actions:     &tfe.RunActions{IsConfirmable: confirmable, IsCancelable: !final, IsDiscardable: confirmable},
		Permissions: &tfe.RunPermissions{CanApply: true, CanCancel: true, CanDiscard: true},
		Plan:        &tfe.Plan{ID: "plan-" + strings.TrimPrefix(rn.id, "run-"), Status: planStatus, HasChanges: rn.adds > 0, ResourceAdditions: rn.adds},
		Apply: &tfe.Apply{ID: "apply-" + strings.TrimPrefix(rn.id, "run-"), Status: applyStatus,
			ResourceAdditions: map[bool]int{true: rn.adds}[st == tfe.RunApplied]},
		Workspace:            &tfe.Workspace{ID: rn.ws},
		ConfigurationVersion: &tfe.ConfigurationVersion{ID: rn.cv},
	}
}

func (s *Sim) readRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runs[r.PathValue("id")]
	if rn == nil {
		writeErr(w, 404, "not found")
		return
	}
	write(w, 200, s.runOut(rn))
}

func (s *Sim) listRuns(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ws := s.ws[r.PathValue("id")]
	if ws == nil {
		s.mu.Unlock()
		writeErr(w, 404, "not found")
		return
	}
	var out []*tfe.Run
	for i := len(ws.runs) - 1; i >= 0; i-- {
		out = append(out, s.runOut(s.runs[ws.runs[i]]))
	}
	s.mu.Unlock()
	writeList(w, r, out)
}

func (s *Sim) applyRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runs[r.PathValue("id")]
	if rn == nil {
		writeErr(w, 404, "not found")
		return
	}
	if _, confirmable := s.status(rn); !confirmable {
		writeErr(w, 409, "transition not allowed")
		return
	}
	now := time.Now()
	rn.confirmed = &now
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) cancelRun(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runs[r.PathValue("id")]
	if rn == nil {
		writeErr(w, 404, "not found")
		return
	}
	if st, _ := s.status(rn); st == tfe.RunApplied || st == tfe.RunErrored || st == tfe.RunCanceled {
		writeErr(w, 409, "transition not allowed")
		return
	}
	now := time.Now()
	rn.canceled = &now
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) outputs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ws := s.ws[r.PathValue("id")]
	if ws == nil {
		s.mu.Unlock()
		writeErr(w, 404, "not found")
		return
	}
	if ws.CurrentRun == nil {
		s.mu.Unlock()
		writeErr(w, 404, "no state version")
		return
	}
	out := make([]*tfe.StateVersionOutput, 0, len(ws.outputs))
	for _, o := range ws.outputs {
		c := *o
		if c.Sensitive {
			c.Value = nil
		}
		out = append(out, &c)
	}
	s.mu.Unlock()
	writeList(w, r, out)
}
