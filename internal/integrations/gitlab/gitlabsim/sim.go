// Package gitlabsim is an in-memory GitLab speaking the subset of the
// REST API (v4) that Atrium uses: groups and subgroups, projects, the
// repository tree, files and commits (the Commits API with actions),
// merge requests, pipelines, project variables and the current user. It
// paginates like GitLab (X-Next-Page, X-Total, X-Total-Pages), answers
// 401 without the right PRIVATE-TOKEN, 404 for what does not exist, 409
// and 400 like GitLab, and can be told to fail (429 with Retry-After,
// 5xx) or to be slow. Tests point the real client at it through
// httptest; the demo serves it under Atrium.
package gitlabsim

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sim is the simulated GitLab; its zero value is not usable: use New.
type Sim struct {
	// Token is the only accepted PRIVATE-TOKEN (or Bearer token).
	Token string
	// WebURL prefixes the web_url of groups, projects and merge requests.
	WebURL string

	mu       sync.Mutex
	nextID   int64
	groups   map[int64]*group
	projects map[int64]*project
	faults   []*Fault
	delay    time.Duration
	users    []string
	requests []string
}

// Fault makes requests fail: the next Times requests whose method is
// Method (empty: any) and whose path contains PathContains get Status
// with Header.
type Fault struct {
	Method       string
	PathContains string
	Status       int
	Header       http.Header
	Times        int
}

type group struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Path     string `json:"path"`
	FullPath string `json:"full_path"`
	ParentID int64  `json:"parent_id,omitempty"`
	WebURL   string `json:"web_url"`
}

type project struct {
	ID                int64    `json:"id"`
	Name              string   `json:"name"`
	Path              string   `json:"path"`
	PathWithNamespace string   `json:"path_with_namespace"`
	Description       string   `json:"description"`
	DefaultBranch     string   `json:"default_branch,omitempty"`
	Visibility        string   `json:"visibility"`
	Topics            []string `json:"topics"`
	Archived          bool     `json:"archived"`
	WebURL            string   `json:"web_url"`
	HTTPURLToRepo     string   `json:"http_url_to_repo"`
	Namespace         struct {
		ID       int64  `json:"id"`
		FullPath string `json:"full_path"`
		Kind     string `json:"kind"`
	} `json:"namespace"`
	CreatedAt time.Time `json:"created_at"`

	branches  map[string]*branch
	mrs       []*mergeRequest
	pipelines []*pipeline
	vars      []*variable
}

type branch struct {
	files map[string][]byte
	head  string
}

type commit struct {
	ID          string    `json:"id"`
	ShortID     string    `json:"short_id"`
	Title       string    `json:"title"`
	Message     string    `json:"message"`
	AuthorName  string    `json:"author_name"`
	AuthorEmail string    `json:"author_email"`
	CreatedAt   time.Time `json:"created_at"`
	WebURL      string    `json:"web_url"`
}

type mergeRequest struct {
	ID           int64     `json:"id"`
	IID          int64     `json:"iid"`
	ProjectID    int64     `json:"project_id"`
	Title        string    `json:"title"`
	Description  string    `json:"description"`
	State        string    `json:"state"`
	SourceBranch string    `json:"source_branch"`
	TargetBranch string    `json:"target_branch"`
	WebURL       string    `json:"web_url"`
	CreatedAt    time.Time `json:"created_at"`
	Author       struct {
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"author"`
}

type pipeline struct {
	ID        int64     `json:"id"`
	IID       int64     `json:"iid"`
	ProjectID int64     `json:"project_id"`
	Status    string    `json:"status"`
	Ref       string    `json:"ref"`
	SHA       string    `json:"sha"`
	WebURL    string    `json:"web_url"`
	CreatedAt time.Time `json:"created_at"`
}

type variable struct {
	Key              string `json:"key"`
	Value            string `json:"value"`
	VariableType     string `json:"variable_type"`
	Protected        bool   `json:"protected"`
	Masked           bool   `json:"masked"`
	Raw              bool   `json:"raw"`
	EnvironmentScope string `json:"environment_scope"`
	Description      string `json:"description"`
}

// New returns an empty GitLab accepting token.
func New(token, webURL string) *Sim {
	return &Sim{Token: token, WebURL: strings.TrimSuffix(webURL, "/"), nextID: 1,
		groups: map[int64]*group{}, projects: map[int64]*project{}}
}

// AddFault queues f.
func (s *Sim) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// SetDelay makes every answer wait d (slow GitLab).
func (s *Sim) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns "METHOD path" of every request so far.
func (s *Sim) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// AddUser adds a user (GET /users lists them).
func (s *Sim) AddUser(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users = append(s.users, username)
}

// AddGroup creates the group at fullPath and its missing parents, and
// returns its id.
func (s *Sim) AddGroup(fullPath string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var parent int64
	var g *group
	for i, part := range strings.Split(fullPath, "/") {
		path := strings.Join(strings.Split(fullPath, "/")[:i+1], "/")
		if g = s.groupByPath(path); g == nil {
			g = s.newGroup(part, part, parent)
		}
		parent = g.ID
	}
	return g.ID
}

// AddProject creates a project at fullPath (its group created when
// missing) with files committed to defaultBranch, and returns its id.
func (s *Sim) AddProject(fullPath, defaultBranch string, files map[string]string) int64 {
	dir, name := fullPath[:max(strings.LastIndex(fullPath, "/"), 0)], fullPath[strings.LastIndex(fullPath, "/")+1:]
	gid := s.AddGroup(dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.newProject(name, name, s.groups[gid], "private", defaultBranch, "", nil)
	if len(files) > 0 {
		b := &branch{files: map[string][]byte{}}
		for k, v := range files {
			b.files[k] = []byte(v)
		}
		p.branches[defaultBranch] = b
		s.commit(p, defaultBranch, b, "Initial commit", "Simulator", "sim@example.com")
	}
	return p.ID
}

// AddPipeline records a pipeline of status on ref of project id.
func (s *Sim) AddPipeline(projectID int64, ref, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projects[projectID]; p != nil {
		s.addPipeline(p, ref, "", status)
	}
}

// AddMergeRequest opens a merge request of project id from a new branch
// (a copy of the default branch with one more file) and returns its iid.
func (s *Sim) AddMergeRequest(projectID int64, branchName, title, author string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[projectID]
	if p == nil || p.branches[p.DefaultBranch] == nil {
		return 0
	}
	b := &branch{files: map[string][]byte{}, head: p.branches[p.DefaultBranch].head}
	for k, v := range p.branches[p.DefaultBranch].files {
		b.files[k] = v
	}
	b.files["CHANGES/"+branchName+".md"] = []byte(title + "\n")
	p.branches[branchName] = b
	s.commit(p, branchName, b, title, author, author+"@example.com")
	mr := &mergeRequest{ID: s.id(), IID: int64(len(p.mrs) + 1), ProjectID: p.ID, Title: title, State: "opened",
		SourceBranch: branchName, TargetBranch: p.DefaultBranch, CreatedAt: time.Now().UTC()}
	mr.WebURL = fmt.Sprintf("%s/-/merge_requests/%d", p.WebURL, mr.IID)
	mr.Author.Username, mr.Author.Name = author, author
	p.mrs = append(p.mrs, mr)
	return mr.IID
}

// File returns a file of a branch of the project at fullPath.
func (s *Sim) File(fullPath, branchName, file string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByPath(fullPath)
	if p == nil || p.branches[branchName] == nil {
		return "", false
	}
	data, ok := p.branches[branchName].files[file]
	return string(data), ok
}

// Count returns how many projects, merge requests and groups exist.
func (s *Sim) Count() (projects, mergeRequests, groups int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.projects {
		mergeRequests += len(p.mrs)
	}
	return len(s.projects), mergeRequests, len(s.groups)
}

// Variable returns a project variable (key, environment scope).
func (s *Sim) Variable(fullPath, key, scope string) (value string, masked, protected, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByPath(fullPath)
	if p == nil {
		return "", false, false, false
	}
	for _, v := range p.vars {
		if v.Key == key && v.EnvironmentScope == scope {
			return v.Value, v.Masked, v.Protected, true
		}
	}
	return "", false, false, false
}

func (s *Sim) id() int64 {
	s.nextID++
	return s.nextID
}

func (s *Sim) newGroup(name, path string, parent int64) *group {
	full := path
	if pg := s.groups[parent]; pg != nil {
		full = pg.FullPath + "/" + path
	}
	g := &group{ID: s.id(), Name: name, Path: path, FullPath: full, ParentID: parent, WebURL: s.WebURL + "/groups/" + full}
	s.groups[g.ID] = g
	return g
}

func (s *Sim) newProject(name, path string, g *group, visibility, defaultBranch, description string, topics []string) *project {
	p := &project{ID: s.id(), Name: name, Path: path, PathWithNamespace: g.FullPath + "/" + path, Visibility: visibility,
		DefaultBranch: defaultBranch, Description: description, Topics: topics, CreatedAt: time.Now().UTC(),
		branches: map[string]*branch{}}
	if p.Topics == nil {
		p.Topics = []string{}
	}
	p.Namespace.ID, p.Namespace.FullPath, p.Namespace.Kind = g.ID, g.FullPath, "group"
	p.WebURL = s.WebURL + "/" + p.PathWithNamespace
	p.HTTPURLToRepo = p.WebURL + ".git"
	s.projects[p.ID] = p
	return p
}

func (s *Sim) groupByPath(path string) *group {
	for _, g := range s.groups {
		if strings.EqualFold(g.FullPath, path) {
			return g
		}
	}
	return nil
}

func (s *Sim) projectByPath(path string) *project {
	for _, p := range s.projects {
		if strings.EqualFold(p.PathWithNamespace, path) {
			return p
		}
	}
	return nil
}

// commit records a commit on b and a pipeline for it.
func (s *Sim) commit(p *project, name string, b *branch, msg, author, email string) commit {
	h := sha1.New()
	fmt.Fprintf(h, "%d/%s/%s/%s/%d", p.ID, name, b.head, msg, s.id())
	keys := make([]string, 0, len(b.files))
	for k := range b.files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write(b.files[k])
	}
	c := commit{ID: hex.EncodeToString(h.Sum(nil)), Title: strings.SplitN(msg, "\n", 2)[0], Message: msg,
		AuthorName: author, AuthorEmail: email, CreatedAt: time.Now().UTC()}
	c.ShortID = c.ID[:8]
	c.WebURL = p.WebURL + "/-/commit/" + c.ID
	b.head = c.ID
	status := "success"
	if _, ok := b.files[".gitlab-ci.yml"]; !ok {
		status = "skipped"
	}
	s.addPipeline(p, name, c.ID, status)
	return c
}

func (s *Sim) addPipeline(p *project, ref, sha, status string) {
	pl := &pipeline{ID: s.id(), IID: int64(len(p.pipelines) + 1), ProjectID: p.ID, Status: status, Ref: ref, SHA: sha, CreatedAt: time.Now().UTC()}
	pl.WebURL = fmt.Sprintf("%s/-/pipelines/%d", p.WebURL, pl.ID)
	p.pipelines = append(p.pipelines, pl)
}

// ServeHTTP answers /api/v4/… requests.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.EscapedPath())
	delay := s.delay
	var fault *Fault
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.EscapedPath(), f.PathContains) {
			fault = f
			f.Times--
			if f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			break
		}
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fault != nil {
		for k, v := range fault.Header {
			w.Header()[k] = v
		}
		writeError(w, fault.Status, http.StatusText(fault.Status))
		return
	}
	token := r.Header.Get("PRIVATE-TOKEN")
	if token == "" {
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if s.Token != "" && token != s.Token {
		writeError(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	path := r.URL.EscapedPath()
	i := strings.Index(path, "/api/v4/")
	if i < 0 {
		s.page(w, r)
		return
	}
	parts := strings.Split(path[i+len("/api/v4/"):], "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.route(w, r, parts)
}

func (s *Sim) route(w http.ResponseWriter, r *http.Request, parts []string) {
	m := r.Method
	switch {
	case len(parts) == 1 && parts[0] == "user" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "username": "atrium-bot", "name": "Atrium bot", "state": "active"})
	case len(parts) == 1 && parts[0] == "users" && m == http.MethodGet:
		type user struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Name     string `json:"name"`
			State    string `json:"state"`
			WebURL   string `json:"web_url"`
		}
		var out []user
		for i, u := range s.users {
			if name := r.Form.Get("username"); name == "" || strings.EqualFold(name, u) {
				out = append(out, user{ID: int64(i + 1), Username: u, Name: u, State: "active", WebURL: s.WebURL + "/" + u})
			}
		}
		writePage(w, r, out)
	case len(parts) == 1 && parts[0] == "groups" && m == http.MethodPost:
		s.createGroup(w, r)
	case len(parts) == 2 && parts[0] == "groups" && m == http.MethodGet:
		if g := s.findGroup(parts[1]); g != nil {
			writeJSON(w, http.StatusOK, g)
			return
		}
		writeError(w, http.StatusNotFound, "404 Group Not Found")
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "projects" && m == http.MethodGet:
		s.listGroupProjects(w, r, parts[1])
	case len(parts) == 1 && parts[0] == "projects" && m == http.MethodPost:
		s.createProject(w, r)
	case len(parts) >= 2 && parts[0] == "projects":
		p := s.findProject(parts[1])
		if p == nil {
			writeError(w, http.StatusNotFound, "404 Project Not Found")
			return
		}
		s.routeProject(w, r, p, parts[2:])
	default:
		writeError(w, http.StatusNotFound, "404 Not Found")
	}
}

func (s *Sim) routeProject(w http.ResponseWriter, r *http.Request, p *project, rest []string) {
	m := r.Method
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		writeJSON(w, http.StatusOK, p)
	case len(rest) == 0 && m == http.MethodPut:
		var in struct {
			DefaultBranch *string `json:"default_branch"`
		}
		if !decode(w, r, &in) {
			return
		}
		if in.DefaultBranch != nil {
			p.DefaultBranch = *in.DefaultBranch
		}
		writeJSON(w, http.StatusOK, p)
	case len(rest) == 3 && rest[0] == "repository" && rest[1] == "branches" && m == http.MethodGet:
		b := p.branches[rest[2]]
		if b == nil {
			writeError(w, http.StatusNotFound, "404 Branch Not Found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"name": rest[2], "default": rest[2] == p.DefaultBranch,
			"commit": map[string]any{"id": b.head, "short_id": b.head[:min(8, len(b.head))]}, "web_url": p.WebURL + "/-/tree/" + rest[2]})
	case len(rest) == 2 && rest[0] == "repository" && rest[1] == "commits" && m == http.MethodPost:
		s.createCommit(w, r, p)
	case len(rest) == 2 && rest[0] == "repository" && rest[1] == "tree" && m == http.MethodGet:
		s.tree(w, r, p)
	case len(rest) >= 3 && rest[0] == "repository" && rest[1] == "files":
		file := rest[2]
		raw := len(rest) == 4 && rest[3] == "raw"
		b := p.branches[refOr(r, p)]
		var data []byte
		var ok bool
		if b != nil {
			data, ok = b.files[file]
		}
		if !ok {
			writeError(w, http.StatusNotFound, "404 File Not Found")
			return
		}
		switch {
		case raw && m == http.MethodGet:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(data)
		case m == http.MethodHead:
			w.Header().Set("X-Gitlab-File-Path", file)
			w.Header().Set("X-Gitlab-Size", strconv.Itoa(len(data)))
			w.Header().Set("X-Gitlab-Commit-Id", b.head)
			w.WriteHeader(http.StatusOK)
		case m == http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"file_name": file[strings.LastIndex(file, "/")+1:], "file_path": file,
				"size": len(data), "encoding": "base64", "content": base64.StdEncoding.EncodeToString(data), "ref": refOr(r, p), "commit_id": b.head})
		default:
			writeError(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		}
	case len(rest) == 1 && rest[0] == "merge_requests" && m == http.MethodGet:
		var out []*mergeRequest
		for _, mr := range slices.Backward(p.mrs) {
			if st := r.Form.Get("state"); st != "" && st != "all" && mr.State != st {
				continue
			}
			if sb := r.Form.Get("source_branch"); sb != "" && mr.SourceBranch != sb {
				continue
			}
			if tb := r.Form.Get("target_branch"); tb != "" && mr.TargetBranch != tb {
				continue
			}
			out = append(out, mr)
		}
		writePage(w, r, out)
	case len(rest) == 1 && rest[0] == "merge_requests" && m == http.MethodPost:
		s.createMR(w, r, p)
	case len(rest) == 1 && rest[0] == "pipelines" && m == http.MethodGet:
		out := slices.Clone(p.pipelines)
		slices.Reverse(out)
		writePage(w, r, out)
	case len(rest) == 1 && rest[0] == "variables" && m == http.MethodGet:
		writePage(w, r, p.vars)
	case len(rest) == 1 && rest[0] == "variables" && m == http.MethodPost:
		s.setVariable(w, r, p, "")
	case len(rest) == 2 && rest[0] == "variables" && m == http.MethodPut:
		s.setVariable(w, r, p, rest[1])
	case len(rest) == 2 && rest[0] == "variables" && m == http.MethodGet:
		scope := r.Form.Get("filter[environment_scope]")
		for _, v := range p.vars {
			if v.Key == rest[1] && (scope == "" || v.EnvironmentScope == scope) {
				writeJSON(w, http.StatusOK, v)
				return
			}
		}
		writeError(w, http.StatusNotFound, "404 Variable Not Found")
	default:
		writeError(w, http.StatusNotFound, "404 Not Found")
	}
}

func refOr(r *http.Request, p *project) string {
	if ref := r.Form.Get("ref"); ref != "" {
		return ref
	}
	return p.DefaultBranch
}

func (s *Sim) findGroup(idOrPath string) *group {
	if id, err := strconv.ParseInt(idOrPath, 10, 64); err == nil {
		return s.groups[id]
	}
	return s.groupByPath(idOrPath)
}

func (s *Sim) findProject(idOrPath string) *project {
	if id, err := strconv.ParseInt(idOrPath, 10, 64); err == nil {
		return s.projects[id]
	}
	return s.projectByPath(idOrPath)
}

func (s *Sim) createGroup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		Path     string `json:"path"`
		ParentID int64  `json:"parent_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Name == "" || in.Path == "" {
		writeError(w, http.StatusBadRequest, "name, path are missing")
		return
	}
	if in.ParentID != 0 && s.groups[in.ParentID] == nil {
		writeError(w, http.StatusNotFound, "404 Parent Group Not Found")
		return
	}
	full := in.Path
	if in.ParentID != 0 {
		full = s.groups[in.ParentID].FullPath + "/" + in.Path
	}
	if s.groupByPath(full) != nil {
		writeError(w, http.StatusBadRequest, "Failed to save group {:path=>[\"has already been taken\"]}")
		return
	}
	writeJSON(w, http.StatusCreated, s.newGroup(in.Name, in.Path, in.ParentID))
}

func (s *Sim) listGroupProjects(w http.ResponseWriter, r *http.Request, idOrPath string) {
	g := s.findGroup(idOrPath)
	if g == nil {
		writeError(w, http.StatusNotFound, "404 Group Not Found")
		return
	}
	sub := r.Form.Get("include_subgroups") == "true"
	var out []*project
	for _, p := range s.projects {
		ns := p.Namespace.FullPath
		if ns == g.FullPath || (sub && strings.HasPrefix(ns, g.FullPath+"/")) {
			if r.Form.Get("archived") == "false" && p.Archived {
				continue
			}
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writePage(w, r, out)
}

func (s *Sim) createProject(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name          string   `json:"name"`
		Path          string   `json:"path"`
		NamespaceID   int64    `json:"namespace_id"`
		Visibility    string   `json:"visibility"`
		DefaultBranch string   `json:"default_branch"`
		Description   string   `json:"description"`
		Topics        []string `json:"topics"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Path == "" {
		in.Path = in.Name
	}
	if in.Name == "" {
		in.Name = in.Path
	}
	if in.Path == "" {
		writeError(w, http.StatusBadRequest, "name is missing, path is missing")
		return
	}
	g := s.groups[in.NamespaceID]
	if g == nil {
		writeError(w, http.StatusNotFound, "404 Namespace Not Found")
		return
	}
	if s.projectByPath(g.FullPath+"/"+in.Path) != nil {
		writeError(w, http.StatusBadRequest, "Failed to save project {:path=>[\"has already been taken\"]}")
		return
	}
	switch in.Visibility {
	case "":
		in.Visibility = "private"
	case "private", "internal", "public":
	default:
		writeError(w, http.StatusBadRequest, "visibility does not have a valid value")
		return
	}
	if in.DefaultBranch == "" {
		in.DefaultBranch = "main"
	}
	writeJSON(w, http.StatusCreated, s.newProject(in.Name, in.Path, g, in.Visibility, in.DefaultBranch, in.Description, in.Topics))
}

func (s *Sim) createCommit(w http.ResponseWriter, r *http.Request, p *project) {
	var in struct {
		Branch        string `json:"branch"`
		StartBranch   string `json:"start_branch"`
		CommitMessage string `json:"commit_message"`
		AuthorName    string `json:"author_name"`
		AuthorEmail   string `json:"author_email"`
		Actions       []struct {
			Action   string `json:"action"`
			FilePath string `json:"file_path"`
			Content  string `json:"content"`
			Encoding string `json:"encoding"`
		} `json:"actions"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Branch == "" || in.CommitMessage == "" {
		writeError(w, http.StatusBadRequest, "branch, commit_message are missing")
		return
	}
	base := p.branches[in.Branch]
	if base == nil && in.StartBranch != "" {
		base = p.branches[in.StartBranch]
		if base == nil {
			writeError(w, http.StatusBadRequest, "You can only create or edit files when you are on a branch")
			return
		}
	}
	if base == nil && len(p.branches) > 0 {
		writeError(w, http.StatusBadRequest, "You can only create or edit files when you are on a branch")
		return
	}
	next := &branch{files: map[string][]byte{}}
	if base != nil {
		next.head = base.head
		for k, v := range base.files {
			next.files[k] = v
		}
	}
	for i, a := range in.Actions {
		content := []byte(a.Content)
		if a.Encoding == "base64" {
			var err error
			if content, err = base64.StdEncoding.DecodeString(a.Content); err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("actions[%d]: content is not base64", i))
				return
			}
		}
		_, exists := next.files[a.FilePath]
		switch a.Action {
		case "create":
			if exists {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("A file with this name already exists: %s", a.FilePath))
				return
			}
			next.files[a.FilePath] = content
		case "update":
			if !exists {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("A file with this name doesn't exist: %s", a.FilePath))
				return
			}
			next.files[a.FilePath] = content
		case "delete":
			if !exists {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("A file with this name doesn't exist: %s", a.FilePath))
				return
			}
			delete(next.files, a.FilePath)
		default:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("actions[%d][action] does not have a valid value", i))
			return
		}
	}
	p.branches[in.Branch] = next
	writeJSON(w, http.StatusCreated, s.commit(p, in.Branch, next, in.CommitMessage, in.AuthorName, in.AuthorEmail))
}

func (s *Sim) tree(w http.ResponseWriter, r *http.Request, p *project) {
	b := p.branches[refOr(r, p)]
	if b == nil {
		writeError(w, http.StatusNotFound, "404 Tree Not Found")
		return
	}
	type node struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
		Path string `json:"path"`
		Mode string `json:"mode"`
	}
	var out []node
	for k := range b.files {
		if r.Form.Get("recursive") != "true" && strings.Contains(k, "/") {
			continue
		}
		out = append(out, node{ID: BlobSHA(b.files[k]), Name: k[strings.LastIndex(k, "/")+1:], Type: "blob", Path: k, Mode: "100644"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	writePage(w, r, out)
}

func (s *Sim) createMR(w http.ResponseWriter, r *http.Request, p *project) {
	var in struct {
		SourceBranch string `json:"source_branch"`
		TargetBranch string `json:"target_branch"`
		Title        string `json:"title"`
		Description  string `json:"description"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.SourceBranch == "" || in.TargetBranch == "" || in.Title == "" {
		writeError(w, http.StatusBadRequest, "source_branch, target_branch, title are missing")
		return
	}
	if p.branches[in.SourceBranch] == nil || p.branches[in.TargetBranch] == nil {
		writeError(w, http.StatusUnprocessableEntity, "Source branch or target branch does not exist")
		return
	}
	for _, mr := range p.mrs {
		if mr.State == "opened" && mr.SourceBranch == in.SourceBranch && mr.TargetBranch == in.TargetBranch {
			writeError(w, http.StatusConflict, fmt.Sprintf("Another open merge request already exists for this source branch: !%d", mr.IID))
			return
		}
	}
	mr := &mergeRequest{ID: s.id(), IID: int64(len(p.mrs) + 1), ProjectID: p.ID, Title: in.Title, Description: in.Description,
		State: "opened", SourceBranch: in.SourceBranch, TargetBranch: in.TargetBranch, CreatedAt: time.Now().UTC()}
	mr.WebURL = fmt.Sprintf("%s/-/merge_requests/%d", p.WebURL, mr.IID)
	mr.Author.Username, mr.Author.Name = "atrium-bot", "Atrium bot"
	p.mrs = append(p.mrs, mr)
	writeJSON(w, http.StatusCreated, mr)
}

func (s *Sim) setVariable(w http.ResponseWriter, r *http.Request, p *project, key string) {
	var in struct {
		Key              string  `json:"key"`
		Value            *string `json:"value"`
		VariableType     string  `json:"variable_type"`
		Protected        *bool   `json:"protected"`
		Masked           *bool   `json:"masked"`
		Raw              *bool   `json:"raw"`
		EnvironmentScope string  `json:"environment_scope"`
		Description      string  `json:"description"`
	}
	if !decode(w, r, &in) {
		return
	}
	if key == "" {
		key = in.Key
	}
	if in.EnvironmentScope == "" {
		in.EnvironmentScope = r.Form.Get("filter[environment_scope]")
	}
	if in.EnvironmentScope == "" {
		in.EnvironmentScope = "*"
	}
	if key == "" || in.Value == nil {
		writeError(w, http.StatusBadRequest, "key, value are missing")
		return
	}
	if in.Masked != nil && *in.Masked && (len(*in.Value) < 8 || strings.ContainsAny(*in.Value, " \n")) {
		writeError(w, http.StatusBadRequest, "{:value=>[\"is invalid\"]}")
		return
	}
	var v *variable
	for _, x := range p.vars {
		if x.Key == key && x.EnvironmentScope == in.EnvironmentScope {
			v = x
		}
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		if v != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("{:key=>[\"(%s) has already been taken\"]}", key))
			return
		}
		v = &variable{Key: key, EnvironmentScope: in.EnvironmentScope, VariableType: "env_var"}
		p.vars = append(p.vars, v)
		status = http.StatusCreated
	} else if v == nil {
		writeError(w, http.StatusNotFound, "404 Variable Not Found")
		return
	}
	v.Value = *in.Value
	if in.VariableType != "" {
		v.VariableType = in.VariableType
	}
	if in.Protected != nil {
		v.Protected = *in.Protected
	}
	if in.Masked != nil {
		v.Masked = *in.Masked
	}
	if in.Raw != nil {
		v.Raw = *in.Raw
	}
	v.Description = in.Description
	writeJSON(w, status, v)
}

// page answers a browser visiting a web URL the simulator handed out
// (project, file, merge request, pipeline) with a plain-text summary, so
// the links on Atrium's pages lead somewhere in the demo.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "404 Not Found")
		return
	}
	path := r.URL.Path
	if s.WebURL != "" {
		if u, err := url.Parse(s.WebURL); err == nil && u.Path != "" && u.Path != "/" {
			path = strings.TrimPrefix(path, strings.TrimSuffix(u.Path, "/"))
		}
	}
	path = strings.Trim(path, "/")
	project, rest, _ := strings.Cut(path, "/-/")
	project = strings.TrimSuffix(project, ".git")
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByPath(project)
	if p == nil {
		http.Error(w, "Simulated GitLab: no project "+project, http.StatusNotFound)
		return
	}
	var b strings.Builder
	kind, arg, _ := strings.Cut(rest, "/")
	switch kind {
	case "blob", "raw", "tree":
		ref, file, _ := strings.Cut(arg, "/")
		br := p.branches[ref]
		if br == nil {
			http.Error(w, "Simulated GitLab: no branch "+ref, http.StatusNotFound)
			return
		}
		if data, ok := br.files[file]; ok && kind != "tree" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = w.Write(data)
			return
		}
		fmt.Fprintf(&b, "Simulated GitLab: %s at %s\n\n", p.PathWithNamespace, ref)
		keys := make([]string, 0, len(br.files))
		for k := range br.files {
			if strings.HasPrefix(k, strings.TrimSuffix(file, "/")) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s (%d bytes)\n", k, len(br.files[k]))
		}
	case "merge_requests":
		for _, mr := range p.mrs {
			if strconv.FormatInt(mr.IID, 10) == arg || arg == "" {
				fmt.Fprintf(&b, "Simulated GitLab: merge request !%d of %s\n\n%s (%s)\n%s -> %s\n\n%s\n", mr.IID, p.PathWithNamespace, mr.Title, mr.State, mr.SourceBranch, mr.TargetBranch, mr.Description)
			}
		}
	case "pipelines":
		for _, pl := range p.pipelines {
			if strconv.FormatInt(pl.ID, 10) == arg || arg == "" {
				fmt.Fprintf(&b, "Simulated GitLab: pipeline #%d of %s: %s on %s (%s)\n", pl.ID, p.PathWithNamespace, pl.Status, pl.Ref, pl.SHA)
			}
		}
	default:
		fmt.Fprintf(&b, "Simulated GitLab: project %s (%s)\n%s\n\nDefault branch: %s\nBranches:", p.PathWithNamespace, p.Visibility, p.Description, p.DefaultBranch)
		names := make([]string, 0, len(p.branches))
		for n := range p.branches {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, " %s (%d files)", n, len(p.branches[n].files))
		}
		fmt.Fprintf(&b, "\nOpen merge requests: %d\nPipelines: %d\n\nThis project lives in memory in Atrium's demo; it cannot be cloned.\n", countOpen(p.mrs), len(p.pipelines))
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, b.String())
}

func countOpen(mrs []*mergeRequest) int {
	n := 0
	for _, mr := range mrs {
		if mr.State == "opened" {
			n++
		}
	}
	return n
}

// BlobSHA is git's object id of a blob with content data, which GitLab
// reports as a tree entry's id.
func BlobSHA(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// decode reads a JSON body (or form values, as GitLab accepts both).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(v); err != nil {
			writeError(w, http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
			return false
		}
		return true
	}
	m := map[string]any{}
	for k, vs := range r.Form {
		m[k] = vs[0]
	}
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, v)
	return true
}

// writePage answers one page of items with GitLab's pagination headers.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T) {
	page, _ := strconv.Atoi(r.Form.Get("page"))
	per, _ := strconv.Atoi(r.Form.Get("per_page"))
	if page < 1 {
		page = 1
	}
	if per < 1 {
		per = 20
	}
	per = min(per, 100)
	total := len(items)
	pages := max((total+per-1)/per, 1)
	from, to := min((page-1)*per, total), min(page*per, total)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(per))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
	} else {
		h.Set("X-Next-Page", "")
	}
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
	}
	out := items[from:to]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}
