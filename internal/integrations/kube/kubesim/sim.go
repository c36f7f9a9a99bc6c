// Package kubesim is an in-memory simulator of the subset of the
// Kubernetes / OpenShift API that Atrium's client uses, spoken over HTTP
// so that the real client-go talks to it: legacy discovery (/api, /apis,
// /api/v1, /apis/<group>/<version>), and GET, LIST (label selectors,
// all namespaces), WATCH (?watch=1 from a resourceVersion: ADDED,
// MODIFIED, DELETED and BOOKMARK events as a chunked JSON stream, 410
// Gone as an ERROR event when the version is older than the history
// kept), POST, PATCH (server-side apply with
// application/apply-patch+yaml, merge patches) and DELETE of namespaces,
// pods, services, configmaps, deployments, routes, projects,
// projectrequests and the OLM types (operatorgroups, subscriptions,
// installplans, clusterserviceversions). dryRun=All validates without
// storing. Server-side apply keeps a light version of managedFields: each
// leaf field has one manager, and applying a different value to a field
// another manager owns is a 409 naming the field and the manager unless
// force=true.
//
// A few controllers run lazily on every request: a deployment gets its
// pods, Pending for PodStart then Running; a Subscription gets an
// InstallPlan (RequiresApproval when its approval is Manual) and, once
// approved, a ClusterServiceVersion that reaches Succeeded after
// Install (Failed for a package whose name starts with "fail").
// Tests inject failures (status, Retry-After, slow answers) with Inject.
package kubesim

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// Resource is one kind the simulator serves.
type Resource struct {
	Group, Version, Resource, Kind string
	Namespaced                     bool
	// OpenShift marks OpenShift-only groups, absent from a plain cluster.
	OpenShift bool
}

func (r Resource) groupVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// Resources are the kinds served.
var Resources = []Resource{
	{Version: "v1", Resource: "namespaces", Kind: "Namespace"},
	{Version: "v1", Resource: "pods", Kind: "Pod", Namespaced: true},
	{Version: "v1", Resource: "services", Kind: "Service", Namespaced: true},
	{Version: "v1", Resource: "configmaps", Kind: "ConfigMap", Namespaced: true},
	{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment", Namespaced: true},
	{Group: "route.openshift.io", Version: "v1", Resource: "routes", Kind: "Route", Namespaced: true, OpenShift: true},
	{Group: "project.openshift.io", Version: "v1", Resource: "projects", Kind: "Project", OpenShift: true},
	{Group: "project.openshift.io", Version: "v1", Resource: "projectrequests", Kind: "ProjectRequest", OpenShift: true},
	{Group: "operators.coreos.com", Version: "v1", Resource: "operatorgroups", Kind: "OperatorGroup", Namespaced: true},
	{Group: "operators.coreos.com", Version: "v1alpha1", Resource: "subscriptions", Kind: "Subscription", Namespaced: true},
	{Group: "operators.coreos.com", Version: "v1alpha1", Resource: "installplans", Kind: "InstallPlan", Namespaced: true},
	{Group: "operators.coreos.com", Version: "v1alpha1", Resource: "clusterserviceversions", Kind: "ClusterServiceVersion", Namespaced: true},
}

// Fault is an injected failure: requests whose method matches (empty:
// any) and whose path contains Path are answered with Status (with
// Retry-After when RetryAfter > 0) after Delay, Times times (0: forever).
// Status 0 with a Delay only slows the answer down.
type Fault struct {
	Method     string
	Path       string
	Status     int
	RetryAfter int
	Delay      time.Duration
	Times      int
}

// Sim is the simulator; call New.
type Sim struct {
	// Token, when set, is the only bearer token accepted.
	Token string
	// OpenShift serves the OpenShift groups (projects, routes).
	OpenShift bool
	// PodStart is how long a new pod stays Pending; Install is how long
	// a CSV takes to reach Succeeded.
	PodStart, Install time.Duration

	mu       sync.Mutex
	objs     map[string]map[string]any // resource/ns/name → object
	owners   map[string]map[string]string
	born     map[string]time.Time
	faults   []*Fault
	requests map[string]int
	rv       int
	now      func() time.Time

	// WatchHistory is how many changes are kept for watches (default
	// 1000); a watch from an older resourceVersion is answered 410 Gone.
	WatchHistory int
	// Tick is how often an open watch runs the controllers, so that
	// pods start while nobody else asks (default 100ms).
	Tick    time.Duration
	events  []event
	changed chan struct{}
}

// New returns an empty cluster (OpenShift when openshift is true).
func New(token string, openshift bool) *Sim {
	s := &Sim{
		Token: token, OpenShift: openshift,
		PodStart: 300 * time.Millisecond, Install: 400 * time.Millisecond,
		objs: map[string]map[string]any{}, owners: map[string]map[string]string{},
		born: map[string]time.Time{}, requests: map[string]int{}, now: time.Now,
		WatchHistory: 1000, Tick: 100 * time.Millisecond, changed: make(chan struct{}),
	}
	for _, ns := range []string{"default", "openshift-operators", "openshift-marketplace"} {
		s.put(Resources[0], "", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}})
	}
	return s
}

// Inject adds a failure.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests counts the requests of method whose path contains path; a
// watch counts as method "WATCH", not "GET".
func (s *Sim) Requests(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.requests {
		m, p, _ := strings.Cut(k, " ")
		if m == method && strings.Contains(p, path) {
			n += c
		}
	}
	return n
}

// Get returns a copy of an object (nil when absent); resource is the
// plural name ("deployments").
func (s *Sim) Get(resource, namespace, name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconcile()
	o := s.objs[resource+"/"+namespace+"/"+name]
	if o == nil {
		return nil
	}
	return clone(o)
}

// Seed stores obj (as applied by manager "seed"), for demo data.
func (s *Sim) Seed(obj map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, _ := obj["kind"].(string)
	for _, r := range s.served() {
		if r.Kind == kind {
			ns := str(obj, "metadata", "namespace")
			if r.Namespaced && ns == "" {
				ns = "default"
			}
			_, st := s.apply(r, ns, str(obj, "metadata", "name"), obj, "seed", true, false)
			if st != nil {
				return fmt.Errorf("%s", st.Message)
			}
			return nil
		}
	}
	return fmt.Errorf("kubesim: kind %q is not served", kind)
}

func (s *Sim) served() []Resource {
	var out []Resource
	for _, r := range Resources {
		if !r.OpenShift || s.OpenShift {
			out = append(out, r)
		}
	}
	return out
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
		writeStatus(w, statusErr(http.StatusUnauthorized, "Unauthorized", "Unauthorized"))
		return
	}
	s.mu.Lock()
	method := r.Method
	if method == http.MethodGet && isWatch(r.URL.Query()) {
		method = "WATCH"
	}
	s.requests[method+" "+r.URL.Path]++
	var fault *Fault
	for _, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.Path, f.Path) && f.Times >= 0 {
			fault = f
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					f.Times = -1
				}
			}
			break
		}
	}
	s.mu.Unlock()
	if fault != nil {
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if fault.Status != 0 {
			if fault.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfter))
			}
			writeStatus(w, statusErr(fault.Status, http.StatusText(fault.Status), "injected failure: "+http.StatusText(fault.Status)))
			return
		}
	}
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case path == "api":
		writeJSON(w, 200, map[string]any{"kind": "APIVersions", "versions": []string{"v1"}, "serverAddressByClientCIDRs": []any{}})
	case path == "apis":
		writeJSON(w, 200, s.groupList())
	case path == "version":
		writeJSON(w, 200, map[string]any{"major": "1", "minor": "37", "gitVersion": "v1.37.2-atrium-sim"})
	case path == "api/v1":
		writeJSON(w, 200, s.resourceList("v1"))
	case strings.HasPrefix(path, "apis/") && strings.Count(path, "/") == 2:
		gv := strings.TrimPrefix(path, "apis/")
		l := s.resourceList(gv)
		if l == nil {
			writeStatus(w, statusErr(404, "NotFound", "the server could not find the requested resource"))
			return
		}
		writeJSON(w, 200, l)
	case strings.HasPrefix(path, "api/v1/"):
		s.serveResource(w, r, "", "v1", strings.Split(strings.TrimPrefix(path, "api/v1/"), "/"))
	case strings.HasPrefix(path, "apis/"):
		parts := strings.Split(strings.TrimPrefix(path, "apis/"), "/")
		if len(parts) < 3 {
			writeStatus(w, statusErr(404, "NotFound", "the server could not find the requested resource"))
			return
		}
		s.serveResource(w, r, parts[0], parts[1], parts[2:])
	default:
		writeStatus(w, statusErr(404, "NotFound", "the server could not find the requested resource"))
	}
}

func (s *Sim) groupList() map[string]any {
	versions := map[string][]string{}
	var order []string
	for _, r := range s.served() {
		if r.Group == "" {
			continue
		}
		if _, ok := versions[r.Group]; !ok {
			order = append(order, r.Group)
		}
		if !slices.Contains(versions[r.Group], r.Version) {
			versions[r.Group] = append(versions[r.Group], r.Version)
		}
	}
	var groups []any
	for _, g := range order {
		var vs []any
		for _, v := range versions[g] {
			vs = append(vs, map[string]any{"groupVersion": g + "/" + v, "version": v})
		}
		groups = append(groups, map[string]any{"name": g, "versions": vs, "preferredVersion": vs[0]})
	}
	return map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
}

func (s *Sim) resourceList(gv string) map[string]any {
	var rs []any
	for _, r := range s.served() {
		if r.groupVersion() != gv {
			continue
		}
		verbs := []string{"get", "list", "create", "patch", "update", "delete"}
		if r.Resource == "projectrequests" {
			verbs = []string{"create", "list"}
		}
		rs = append(rs, map[string]any{"name": r.Resource, "singularName": strings.ToLower(r.Kind), "namespaced": r.Namespaced, "kind": r.Kind, "verbs": verbs})
	}
	if rs == nil {
		return nil
	}
	return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs}
}

func (s *Sim) lookup(group, version, resource string) (Resource, bool) {
	for _, r := range s.served() {
		if r.Group == group && r.Version == version && r.Resource == resource {
			return r, true
		}
	}
	return Resource{}, false
}

func (s *Sim) serveResource(w http.ResponseWriter, r *http.Request, group, version string, parts []string) {
	ns := ""
	if len(parts) >= 3 && parts[0] == "namespaces" {
		ns, parts = parts[1], parts[2:]
	}
	res, ok := s.lookup(group, version, parts[0])
	if !ok {
		writeStatus(w, statusErr(404, "NotFound", fmt.Sprintf("the server could not find the requested resource (%s %s)", parts[0], group)))
		return
	}
	name := ""
	if len(parts) > 1 {
		name = parts[1]
	}
	q := r.URL.Query()
	dryRun := slices.Contains(q["dryRun"], "All")
	s.mu.Lock()
	locked := true
	defer func() {
		if locked {
			s.mu.Unlock()
		}
	}()
	if isWatch(q) && r.Method == http.MethodGet && name == "" {
		// watch takes over the lock.
		locked = false
	}
	s.reconcile()
	if res.Namespaced && ns != "" && s.objs["namespaces//"+ns] == nil && r.Method != http.MethodGet {
		writeStatus(w, statusErr(404, "NotFound", fmt.Sprintf("namespaces %q not found", ns)))
		return
	}
	switch {
	case r.Method == http.MethodGet && name == "" && isWatch(q):
		sel, err := labels.Parse(q.Get("labelSelector"))
		if err != nil {
			writeStatus(w, statusErr(400, "BadRequest", "labelSelector: "+err.Error()))
			return
		}
		if res.Resource == "projects" || res.Resource == "projectrequests" {
			writeStatus(w, statusErr(405, "MethodNotAllowed", "the simulator does not watch "+res.Resource))
			return
		}
		s.watch(w, r, res, ns, sel) // unlocks s.mu while it streams
	case r.Method == http.MethodGet && name == "":
		sel, err := labels.Parse(q.Get("labelSelector"))
		if err != nil {
			writeStatus(w, statusErr(400, "BadRequest", "labelSelector: "+err.Error()))
			return
		}
		l := s.list(res, ns, sel)
		if err := paginate(l, q.Get("limit"), q.Get("continue")); err != nil {
			writeStatus(w, statusErr(410, "Expired", err.Error()))
			return
		}
		writeJSON(w, 200, l)
	case r.Method == http.MethodGet:
		o := s.getObj(res, ns, name)
		if o == nil {
			writeStatus(w, notFound(res, name))
			return
		}
		writeJSON(w, 200, o)
	case r.Method == http.MethodPost && name == "":
		var obj map[string]any
		if err := decode(r, &obj); err != nil {
			writeStatus(w, statusErr(400, "BadRequest", err.Error()))
			return
		}
		out, st := s.create(res, ns, obj, q.Get("fieldManager"), dryRun)
		if st != nil {
			writeStatus(w, st)
			return
		}
		writeJSON(w, 201, out)
	case r.Method == http.MethodPatch && name != "":
		var obj map[string]any
		if err := decode(r, &obj); err != nil {
			writeStatus(w, statusErr(400, "BadRequest", err.Error()))
			return
		}
		var (
			out map[string]any
			st  *status
		)
		switch r.Header.Get("Content-Type") {
		case "application/apply-patch+yaml":
			mgr := q.Get("fieldManager")
			if mgr == "" {
				writeStatus(w, statusErr(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"))
				return
			}
			out, st = s.apply(res, ns, name, obj, mgr, q.Get("force") == "true", dryRun)
		case "application/merge-patch+json", "application/strategic-merge-patch+json":
			out, st = s.merge(res, ns, name, obj, dryRun)
		default:
			st = statusErr(415, "UnsupportedMediaType", "the body of the request was in an unknown format: "+r.Header.Get("Content-Type"))
		}
		if st != nil {
			writeStatus(w, st)
			return
		}
		writeJSON(w, 200, out)
	case r.Method == http.MethodDelete && name != "":
		key := res.Resource + "/" + ns + "/" + name
		o := s.objs[key]
		if o == nil {
			writeStatus(w, notFound(res, name))
			return
		}
		if !dryRun {
			o = s.remove(key)
		}
		writeJSON(w, 200, o)
	default:
		writeStatus(w, statusErr(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"))
	}
}

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the request body is not a valid object: %v", err)
	}
	return nil
}

func (s *Sim) getObj(res Resource, ns, name string) map[string]any {
	if res.Resource == "projects" {
		n := s.objs["namespaces//"+name]
		if n == nil {
			return nil
		}
		return projectOf(n)
	}
	return s.objs[res.Resource+"/"+ns+"/"+name]
}

func projectOf(n map[string]any) map[string]any {
	p := clone(n)
	p["apiVersion"], p["kind"] = "project.openshift.io/v1", "Project"
	p["status"] = map[string]any{"phase": "Active"}
	return p
}

func (s *Sim) list(res Resource, ns string, sel labels.Selector) map[string]any {
	src := res.Resource
	if src == "projects" {
		src = "namespaces"
	}
	keys := make([]string, 0)
	for k := range s.objs {
		if strings.HasPrefix(k, src+"/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	items := []any{}
	for _, k := range keys {
		o := s.objs[k]
		if ns != "" && str(o, "metadata", "namespace") != ns {
			continue
		}
		lbl := labels.Set{}
		if m, ok := dig(o, "metadata", "labels").(map[string]any); ok {
			for k, v := range m {
				lbl[k], _ = v.(string)
			}
		}
		if !sel.Matches(lbl) {
			continue
		}
		if res.Resource == "projects" {
			o = projectOf(o)
		}
		items = append(items, o)
	}
	return map[string]any{"apiVersion": res.groupVersion(), "kind": res.Kind + "List", "metadata": map[string]any{"resourceVersion": strconv.Itoa(s.rv)}, "items": items}
}

// paginate cuts a list to the page that limit and continue (an offset
// here; an opaque token for the client) ask for.
func paginate(l map[string]any, limit, cont string) error {
	n, _ := strconv.Atoi(limit)
	if n <= 0 {
		return nil
	}
	start := 0
	if cont != "" {
		var err error
		if start, err = strconv.Atoi(cont); err != nil || start < 0 {
			return fmt.Errorf("the provided continue parameter is too old to display a consistent list result")
		}
	}
	items := l["items"].([]any)
	start = min(start, len(items))
	end := min(start+n, len(items))
	l["items"] = items[start:end]
	if end < len(items) {
		md := l["metadata"].(map[string]any)
		md["continue"] = strconv.Itoa(end)
		md["remainingItemCount"] = len(items) - end
	}
	return nil
}

func (s *Sim) create(res Resource, ns string, obj map[string]any, manager string, dryRun bool) (map[string]any, *status) {
	name := str(obj, "metadata", "name")
	if name == "" {
		return nil, invalid(res, name, cause{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"})
	}
	switch res.Resource {
	case "projects":
		return nil, statusErr(405, "MethodNotAllowed", "projects are created through projectrequests")
	case "projectrequests":
		if s.objs["namespaces//"+name] != nil {
			return nil, statusErr(409, "AlreadyExists", fmt.Sprintf("project.project.openshift.io %q already exists", name))
		}
		nsObj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "annotations": map[string]any{
			"openshift.io/display-name": fmt.Sprint(obj["displayName"]), "openshift.io/description": fmt.Sprint(obj["description"]), "openshift.io/requester": "atrium"}}}
		if dryRun {
			return projectOf(nsObj), nil
		}
		n := s.put(Resources[0], "", nsObj)
		return projectOf(n), nil
	}
	if s.getObj(res, ns, name) != nil {
		return nil, statusErr(409, "AlreadyExists", fmt.Sprintf("%s %q already exists", res.Resource, name)).withDetails(res, name)
	}
	if manager == "" {
		manager = "unknown"
	}
	return s.apply(res, ns, name, obj, manager, true, dryRun)
}

// apply is server-side apply: obj's fields are merged into the stored
// object (maps merge, lists are atomic) and owned by manager.
func (s *Sim) apply(res Resource, ns, name string, obj map[string]any, manager string, force, dryRun bool) (map[string]any, *status) {
	if res.Resource == "projectrequests" || res.Resource == "projects" {
		return nil, statusErr(405, "MethodNotAllowed", res.Resource+" cannot be applied")
	}
	if k, _ := obj["kind"].(string); k != "" && k != res.Kind {
		return nil, statusErr(400, "BadRequest", fmt.Sprintf("the kind %q of the body does not match the resource %s", k, res.Resource))
	}
	if n := str(obj, "metadata", "name"); n != "" && n != name {
		return nil, statusErr(400, "BadRequest", fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", n, name))
	}
	if !res.Namespaced {
		ns = ""
	} else if ons := str(obj, "metadata", "namespace"); ons != "" && ons != ns {
		return nil, statusErr(400, "BadRequest", fmt.Sprintf("the namespace of the object (%s) does not match the namespace on the URL (%s)", ons, ns))
	}
	if causes := validate(res, obj); len(causes) > 0 {
		return nil, invalid(res, name, causes...)
	}
	key := res.Resource + "/" + ns + "/" + name
	cur := s.objs[key]
	fields := map[string]any{}
	flatten("", stripped(obj), fields)
	owners := s.owners[key]
	var conflicts []cause
	if cur != nil {
		curFields := map[string]any{}
		flatten("", stripped(cur), curFields)
		for _, f := range sortedKeys(fields) {
			o := owners[f]
			if o == "" || o == manager {
				continue
			}
			if cv, ok := curFields[f]; ok && !equal(cv, fields[f]) {
				conflicts = append(conflicts, cause{"FieldManagerConflict", fmt.Sprintf("conflict with %q: %s", o, f), f})
			}
		}
	}
	if len(conflicts) > 0 && !force {
		msgs := make([]string, len(conflicts))
		for i, c := range conflicts {
			msgs[i] = c.Message
		}
		st := statusErr(409, "Conflict", fmt.Sprintf("Apply failed with %d conflict(s): %s", len(conflicts), strings.Join(msgs, "; ")))
		st.Details = &details{Name: name, Group: res.Group, Kind: res.Resource, Causes: conflicts}
		return nil, st
	}
	var next map[string]any
	if cur == nil {
		next = map[string]any{}
	} else {
		next = clone(cur)
	}
	mergeInto(next, stripped(obj))
	next["apiVersion"], next["kind"] = res.groupVersion(), res.Kind
	setIn(next, name, "metadata", "name")
	if res.Namespaced {
		setIn(next, ns, "metadata", "namespace")
	}
	if dryRun {
		return s.stamp(res, next, cur), nil
	}
	no := map[string]string{}
	for f, m := range owners {
		no[f] = m
	}
	for f := range fields {
		no[f] = manager
	}
	out := s.put(res, ns, next)
	s.owners[key] = no
	return out, nil
}

// merge is a JSON merge patch (used to approve install plans).
func (s *Sim) merge(res Resource, ns, name string, patch map[string]any, dryRun bool) (map[string]any, *status) {
	key := res.Resource + "/" + ns + "/" + name
	cur := s.objs[key]
	if cur == nil {
		return nil, notFound(res, name)
	}
	next := clone(cur)
	mergePatch(next, patch)
	if dryRun {
		return next, nil
	}
	return s.put(res, ns, next), nil
}

// stamp sets the server-owned metadata of next, the new version of cur.
func (s *Sim) stamp(res Resource, next, cur map[string]any) map[string]any {
	if cur == nil {
		setIn(next, fmt.Sprintf("sim-%s-%d", res.Resource, s.rv+1), "metadata", "uid")
		setIn(next, s.now().UTC().Format(time.RFC3339), "metadata", "creationTimestamp")
		setIn(next, int64(1), "metadata", "generation")
	} else {
		gen, _ := toInt(dig(cur, "metadata", "generation"))
		if !equal(dig(cur, "spec"), dig(next, "spec")) {
			gen++
		}
		setIn(next, gen, "metadata", "generation")
	}
	setIn(next, strconv.Itoa(s.rv+1), "metadata", "resourceVersion")
	switch res.Resource {
	case "services":
		if str(next, "spec", "clusterIP") == "" {
			setIn(next, fmt.Sprintf("172.30.%d.%d", (s.rv/250)%250, s.rv%250+1), "spec", "clusterIP")
		}
	case "routes":
		host := str(next, "spec", "host")
		if host == "" {
			host = fmt.Sprintf("%s-%s.apps.sim.atrium.local", str(next, "metadata", "name"), str(next, "metadata", "namespace"))
			setIn(next, host, "spec", "host")
		}
		next["status"] = map[string]any{"ingress": []any{map[string]any{"host": host, "routerName": "default",
			"conditions": []any{map[string]any{"type": "Admitted", "status": "True"}}}}}
	case "namespaces":
		next["status"] = map[string]any{"phase": "Active"}
	}
	return next
}

func (s *Sim) put(res Resource, ns string, obj map[string]any) map[string]any {
	key := res.Resource + "/" + ns + "/" + str(obj, "metadata", "name")
	cur := s.objs[key]
	obj = s.stamp(res, obj, cur)
	s.rv++
	s.objs[key] = obj
	typ := "MODIFIED"
	if cur == nil {
		s.born[key] = s.now()
		typ = "ADDED"
	}
	s.record(typ, res.Resource, obj)
	return clone(obj)
}

type cause struct {
	Type    string `json:"reason"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// validate reports every problem of obj the simulator checks, like the
// API server's validation would.
func validate(res Resource, obj map[string]any) []cause {
	var cs []cause
	name := str(obj, "metadata", "name")
	if len(name) > 63 || strings.ToLower(name) != name || strings.ContainsAny(name, "_ /.") && res.Resource == "namespaces" {
		cs = append(cs, cause{"FieldValueInvalid", fmt.Sprintf("Invalid value: %q: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'", name), "metadata.name"})
	}
	switch res.Resource {
	case "deployments":
		sel, _ := dig(obj, "spec", "selector", "matchLabels").(map[string]any)
		if len(sel) == 0 {
			cs = append(cs, cause{"FieldValueRequired", "Required value", "spec.selector"})
		}
		tl, _ := dig(obj, "spec", "template", "metadata", "labels").(map[string]any)
		for k, v := range sel {
			if tl[k] != v {
				cs = append(cs, cause{"FieldValueInvalid", "Invalid value: `selector` does not match template `labels`", "spec.template.metadata.labels"})
				break
			}
		}
		if r, ok := dig(obj, "spec", "replicas").(float64); ok && r < 0 {
			cs = append(cs, cause{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"})
		}
		cs = append(cs, validateContainers(dig(obj, "spec", "template", "spec", "containers"), "spec.template.spec.containers")...)
	case "pods":
		cs = append(cs, validateContainers(dig(obj, "spec", "containers"), "spec.containers")...)
	case "services":
		ports, _ := dig(obj, "spec", "ports").([]any)
		if len(ports) == 0 && str(obj, "spec", "type") != "ExternalName" {
			cs = append(cs, cause{"FieldValueRequired", "Required value", "spec.ports"})
		}
		for i, p := range ports {
			if n, ok := toInt(dig(p.(map[string]any), "port")); !ok || n < 1 || n > 65535 {
				cs = append(cs, cause{"FieldValueInvalid", "Invalid value: must be between 1 and 65535, inclusive", fmt.Sprintf("spec.ports[%d].port", i)})
			}
		}
	case "routes":
		if str(obj, "spec", "to", "name") == "" {
			cs = append(cs, cause{"FieldValueRequired", "Required value: must specify a service name", "spec.to.name"})
		}
	case "subscriptions":
		if str(obj, "spec", "name") == "" {
			cs = append(cs, cause{"FieldValueRequired", "Required value: the package name", "spec.name"})
		}
		if str(obj, "spec", "source") == "" {
			cs = append(cs, cause{"FieldValueRequired", "Required value: the catalog source", "spec.source"})
		}
	}
	return cs
}

func validateContainers(v any, at string) []cause {
	cs, _ := v.([]any)
	if len(cs) == 0 {
		return []cause{{"FieldValueRequired", "Required value", at}}
	}
	var out []cause
	for i, c := range cs {
		m, _ := c.(map[string]any)
		if s, _ := m["name"].(string); s == "" {
			out = append(out, cause{"FieldValueRequired", "Required value", fmt.Sprintf("%s[%d].name", at, i)})
		}
		if s, _ := m["image"].(string); s == "" {
			out = append(out, cause{"FieldValueRequired", "Required value", fmt.Sprintf("%s[%d].image", at, i)})
		}
	}
	return out
}
