// Package azuresim is a simulated Azure subscription for tests and demo
// mode: the Azure SDK's own fake servers (the fake subpackages of
// armresources, armdeployments and armcostmanagement) backed by an
// in-memory store, used as the real client's transport. Resource groups
// are created and read; deployments progress Accepted → Running →
// Succeeded (or Failed) over time and create the resources of their
// template's resources array; Cost Management answers with synthetic
// daily costs of each group's resources. The store can be kept in a file
// so that a deployment survives an Atrium restart.
package azuresim

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// FailureType is the resource type that makes a simulated deployment
// fail, to show and test a failed long-running operation.
const FailureType = "Atrium.Simulator/failures"

// Group is a simulated resource group.
type Group struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags,omitempty"`
	Created  time.Time         `json:"created"`
}

// Resource is a simulated resource.
type Resource struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Location string `json:"location"`
	Group    string `json:"group"`
}

// Deployment is a simulated template deployment.
type Deployment struct {
	Group      string            `json:"group"`
	Name       string            `json:"name"`
	Started    time.Time         `json:"started"`
	Tags       map[string]string `json:"tags,omitempty"`
	Outputs    map[string]any    `json:"outputs,omitempty"`
	Resources  []Resource        `json:"resources,omitempty"`
	FailReason string            `json:"failReason,omitempty"`
	// Applied is set once the resources exist (the deployment ended).
	Applied bool `json:"applied,omitempty"`
	// Canceled is set by a cancel before the deployment ended.
	Canceled bool `json:"canceled,omitempty"`
}

// Sim is one simulated subscription.
type Sim struct {
	// SubscriptionID is the subscription's id.
	SubscriptionID string
	// Step is how long a deployment stays Accepted, and half of how long
	// it then runs (default 1s).
	Step time.Duration
	// PageSize is how many resources a page of a list holds (default 50).
	PageSize int
	// CostPageSize is how many rows a page of a Cost Management answer
	// holds (default DefaultCostPageSize; 0: one page).
	CostPageSize int
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu          sync.Mutex
	file        string
	groups      map[string]*Group
	resources   map[string]*Resource
	deployments map[string]*Deployment
	deploys     int
	costQueries int
	// costAnswers are the rows of paged cost answers, by answer id, for
	// their next pages.
	costAnswers   map[string][][]any
	costAnswerSeq int
}

// New returns an empty simulated subscription.
func New(subscriptionID string) *Sim {
	return &Sim{SubscriptionID: subscriptionID, Step: time.Second, PageSize: 50, CostPageSize: DefaultCostPageSize,
		costAnswers: map[string][][]any{},
		groups:      map[string]*Group{}, resources: map[string]*Resource{}, deployments: map[string]*Deployment{}}
}

// state is what the file holds.
type state struct {
	Groups      []*Group      `json:"groups"`
	Resources   []*Resource   `json:"resources"`
	Deployments []*Deployment `json:"deployments"`
}

// Persist keeps the store in file (read now if it exists, written after
// every change).
func (s *Sim) Persist(file string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.file = file
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("simulated Azure state %s: %w", file, err)
	}
	for _, g := range st.Groups {
		s.groups[strings.ToLower(g.Name)] = g
	}
	for _, r := range st.Resources {
		s.resources[strings.ToLower(r.ID)] = r
	}
	for _, d := range st.Deployments {
		s.deployments[depKey(d.Group, d.Name)] = d
	}
	return nil
}

func (s *Sim) saveLocked() {
	if s.file == "" {
		return
	}
	st := state{}
	for _, g := range s.groups {
		st.Groups = append(st.Groups, g)
	}
	for _, r := range s.resources {
		st.Resources = append(st.Resources, r)
	}
	for _, d := range s.deployments {
		st.Deployments = append(st.Deployments, d)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	_ = os.MkdirAll(filepath.Dir(s.file), 0o700)
	tmp := s.file + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		_ = os.Rename(tmp, s.file)
	}
}

func (s *Sim) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func depKey(group, name string) string { return strings.ToLower(group + "/" + name) }

func (s *Sim) groupID(name string) string {
	return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + name
}

// PutGroup creates or replaces a group (tests and the demo's seed).
func (s *Sim) PutGroup(name, location string, tags map[string]string) *Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putGroupLocked(name, location, tags)
}

func (s *Sim) putGroupLocked(name, location string, tags map[string]string) *Group {
	g := s.groups[strings.ToLower(name)]
	if g == nil {
		g = &Group{ID: s.groupID(name), Name: name, Created: s.now().UTC()}
		s.groups[strings.ToLower(name)] = g
	}
	g.Location, g.Tags = location, tags
	s.saveLocked()
	return g
}

// Group returns a copy of a group, or nil.
func (s *Sim) Group(name string) *Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[strings.ToLower(name)]
	if g == nil {
		return nil
	}
	c := *g
	return &c
}

// PutResource adds a resource to a group (tests and the demo's seed).
func (s *Sim) PutResource(group, typ, name, location string) Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Resource{ID: s.groupID(group) + "/providers/" + typ + "/" + name, Name: name, Type: typ, Location: location, Group: group}
	s.resources[strings.ToLower(r.ID)] = &r
	s.saveLocked()
	return r
}

// Resources returns a group's resources sorted by id.
func (s *Sim) Resources(group string) []Resource {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resourcesLocked(group)
}

func (s *Sim) resourcesLocked(group string) []Resource {
	var out []Resource
	for _, r := range s.resources {
		if strings.EqualFold(r.Group, group) {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Deployments is how many deployments were started (resumes excluded).
func (s *Sim) Deployments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deploys
}

// provisioningState is a deployment's state at the current time; a
// deployment that has ended creates its resources the first time this is
// observed.
func (s *Sim) provisioningStateLocked(d *Deployment) string {
	step := s.Step
	if step <= 0 {
		step = time.Second
	}
	if d.Canceled {
		return "Canceled"
	}
	age := s.now().Sub(d.Started)
	switch {
	case age < step:
		return "Accepted"
	case age < 3*step:
		return "Running"
	}
	if d.FailReason != "" {
		return "Failed"
	}
	if !d.Applied {
		d.Applied = true
		for i := range d.Resources {
			r := d.Resources[i]
			s.resources[strings.ToLower(r.ID)] = &r
		}
		s.saveLocked()
	}
	return "Succeeded"
}
