// Package gen generates a deterministic, believable catalog of any size for
// benchmarks: a group hierarchy, users with memberships, domains, systems,
// components, APIs and resources that reference each other through their
// spec fields, written as multi-document YAML files reached from one root
// Location descriptor.
//
// The same size and seed always give the same files, byte for byte.
package gen

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
)

// RootFile is the name of the root Location descriptor that Set.WriteDir
// writes; every other file is one of its targets.
const RootFile = "all.yaml"

// DefaultPerFile is how many entities one generated file holds by default.
const DefaultPerFile = 200

// MaxEntities bounds n, so that a typo cannot fill the disk.
const MaxEntities = 5_000_000

// Options tune a generated set.
type Options struct {
	// PerFile is the number of entities per YAML file (0: DefaultPerFile).
	PerFile int
}

// Entity is one generated entity. Reference fields hold canonical refs
// (kind:namespace/name); the YAML writer shortens them where the field's
// default kind allows, as people write them.
type Entity struct {
	Kind        string
	Name        string
	Description string
	Tags        []string

	Type      string
	Lifecycle string
	Owner     string
	System    string   // Component, API, Resource
	Domain    string   // System
	Parent    string   // Group
	Children  []string // Group
	MemberOf  []string // User
	Provides  []string // Component
	Consumes  []string // Component
	DependsOn []string // Component, Resource
	// Definition is the API definition text.
	Definition string
	// File is the generated file (relative, slash-separated) holding it.
	File string
}

// Ref returns the entity's canonical reference.
func (e *Entity) Ref() string {
	return strings.ToLower(e.Kind) + ":default/" + e.Name
}

// Relation is one relation as the catalog shows it on its source entity.
type Relation struct {
	Source, Type, Target string
}

// Set is a generated catalog, held in memory.
type Set struct {
	N        int
	Seed     int64
	Entities []*Entity
	// Files lists the generated descriptor files in order, relative to the
	// root and slash-separated.
	Files []string
	// Root is the root Location entity (in RootFile, not counted in N).
	Root *Entity

	relsOnce sync.Once
	rels     []Relation
}

// Generate writes a set of n entities for seed into dir with the default
// options.
func Generate(dir string, n int, seed int64) error {
	s, err := New(n, seed, Options{})
	if err != nil {
		return err
	}
	return s.WriteDir(dir)
}

// Shares of each kind, in per-mille of n; components take the rest.
const (
	groupShare    = 30
	userShare     = 200
	domainShare   = 10
	systemShare   = 40
	apiShare      = 150
	resourceShare = 120
)

// New builds a set of n entities for seed. n must be at least 20 (smaller
// sets cannot hold every kind with its references) and at most MaxEntities.
func New(n int, seed int64, opts Options) (*Set, error) {
	if n < 20 || n > MaxEntities {
		return nil, fmt.Errorf("gen: entity count %d out of range [20, %d]", n, MaxEntities)
	}
	if opts.PerFile < 0 {
		return nil, fmt.Errorf("gen: entities per file %d must not be negative", opts.PerFile)
	}
	if opts.PerFile == 0 {
		opts.PerFile = DefaultPerFile
	}
	g := &builder{
		rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		set: &Set{N: n, Seed: seed},
	}
	count := func(share, min int) int { return max(min, n*share/1000) }
	nGroups := count(groupShare, 3)
	nUsers := count(userShare, 2)
	nDomains := count(domainShare, 1)
	nSystems := count(systemShare, 1)
	nAPIs := count(apiShare, 1)
	nResources := count(resourceShare, 1)
	nComponents := n - nGroups - nUsers - nDomains - nSystems - nAPIs - nResources

	g.groups(nGroups)
	g.users(nUsers)
	g.domains(nDomains)
	g.systems(nSystems)
	g.resources(nResources)
	g.apis(nAPIs)
	g.components(nComponents)
	g.place(opts.PerFile)
	return g.set, nil
}

type builder struct {
	rng *rand.Rand
	set *Set

	teams, units []*Entity
	usersL       []*Entity
	domainsL     []*Entity
	systemsL     []*Entity
	resourcesL   []*Entity
	apisL        []*Entity
	componentsL  []*Entity
}

func (g *builder) pick(words []string) string { return words[g.rng.IntN(len(words))] }

// name returns a readable unique name: two words and the entity's index.
func (g *builder) name(prefix string, i int) string {
	return fmt.Sprintf("%s-%s-%s-%d", prefix, g.pick(adjectives), g.pick(nouns), i)
}

func (g *builder) tags(k int) []string {
	out := make([]string, 0, k)
	for len(out) < k {
		t := g.pick(tagWords)
		dup := false
		for _, o := range out {
			dup = dup || o == t
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

func (g *builder) describe(what string) string {
	return fmt.Sprintf("The %s %s %s for %s.", g.pick(adjectives), g.pick(nouns), what, g.pick(purposes))
}

func (g *builder) add(e *Entity) *Entity {
	g.set.Entities = append(g.set.Entities, e)
	return e
}

// groups builds one organization, about sqrt(n) business units and teams
// under them.
func (g *builder) groups(n int) {
	root := g.add(&Entity{Kind: "Group", Name: "org", Type: "organization", Description: "The whole company."})
	nUnits := 1
	for nUnits*nUnits < n-1 {
		nUnits++
	}
	nUnits = min(nUnits, n-2)
	for i := range nUnits {
		u := g.add(&Entity{Kind: "Group", Name: fmt.Sprintf("unit-%s-%d", g.pick(nouns), i), Type: "business-unit",
			Parent: root.Ref(), Description: g.describe("business unit")})
		root.Children = append(root.Children, u.Ref())
		g.units = append(g.units, u)
	}
	for i := range n - 1 - nUnits {
		u := g.units[i%len(g.units)]
		t := g.add(&Entity{Kind: "Group", Name: g.name("team", i), Type: "team", Parent: u.Ref(),
			Description: g.describe("team")})
		u.Children = append(u.Children, t.Ref())
		g.teams = append(g.teams, t)
	}
}

func (g *builder) team() string { return g.teams[g.rng.IntN(len(g.teams))].Ref() }

// users gives everyone one team, and a third of them a second one.
func (g *builder) users(n int) {
	for i := range n {
		u := &Entity{Kind: "User", Name: fmt.Sprintf("%s.%s%d", g.pick(firstNames), g.pick(lastNames), i)}
		u.MemberOf = append(u.MemberOf, g.team())
		if g.rng.IntN(3) == 0 {
			if second := g.team(); second != u.MemberOf[0] {
				u.MemberOf = append(u.MemberOf, second)
			}
		}
		g.usersL = append(g.usersL, g.add(u))
	}
}

func (g *builder) domains(n int) {
	for i := range n {
		d := &Entity{Kind: "Domain", Name: g.name("domain", i), Description: g.describe("domain"),
			Owner: g.units[g.rng.IntN(len(g.units))].Ref(), Tags: g.tags(1)}
		g.domainsL = append(g.domainsL, g.add(d))
	}
}

func (g *builder) systems(n int) {
	for i := range n {
		s := &Entity{Kind: "System", Name: g.name("system", i), Description: g.describe("system"),
			Owner: g.team(), Domain: g.domainsL[g.rng.IntN(len(g.domainsL))].Ref(), Tags: g.tags(1)}
		g.systemsL = append(g.systemsL, g.add(s))
	}
}

func (g *builder) system() string { return g.systemsL[g.rng.IntN(len(g.systemsL))].Ref() }

func (g *builder) resources(n int) {
	for i := range n {
		r := &Entity{Kind: "Resource", Name: g.name("res", i), Description: g.describe("resource"),
			Type: g.pick(resourceTypes), Owner: g.team(), System: g.system(), Tags: g.tags(1)}
		if i > 0 && g.rng.IntN(5) == 0 {
			r.DependsOn = []string{g.resourcesL[g.rng.IntN(i)].Ref()}
		}
		g.resourcesL = append(g.resourcesL, g.add(r))
	}
}

func (g *builder) apis(n int) {
	for i := range n {
		typ := apiTypes[g.rng.IntN(len(apiTypes))]
		a := &Entity{Kind: "API", Name: g.name("api", i), Description: g.describe("API"), Type: typ,
			Lifecycle: g.pick(lifecycles), Owner: g.team(), System: g.system(), Tags: g.tags(1 + g.rng.IntN(2))}
		a.Definition = definition(typ, a.Name)
		g.apisL = append(g.apisL, g.add(a))
	}
}

// components gives each component an owner (a team, now and then a person)
// and a system, hands out every API to one provider, and adds consumed APIs
// and dependencies on earlier components and on resources.
func (g *builder) components(n int) {
	for i := range n {
		c := &Entity{Kind: "Component", Name: g.name("comp", i), Type: g.pick(componentTypes),
			Lifecycle: g.pick(lifecycles), Owner: g.team(), System: g.system(), Tags: g.tags(1 + g.rng.IntN(3))}
		c.Description = g.describe(c.Type)
		if g.rng.IntN(20) == 0 {
			c.Owner = g.usersL[g.rng.IntN(len(g.usersL))].Ref()
		}
		for range g.rng.IntN(3) {
			c.Consumes = appendUnique(c.Consumes, g.apisL[g.rng.IntN(len(g.apisL))].Ref())
		}
		if g.rng.IntN(2) == 0 {
			c.DependsOn = append(c.DependsOn, g.resourcesL[g.rng.IntN(len(g.resourcesL))].Ref())
		}
		if i > 0 && g.rng.IntN(3) == 0 {
			c.DependsOn = appendUnique(c.DependsOn, g.componentsL[g.rng.IntN(i)].Ref())
		}
		g.componentsL = append(g.componentsL, g.add(c))
	}
	for i, a := range g.apisL {
		p := g.componentsL[(i*7919)%len(g.componentsL)]
		p.Provides = append(p.Provides, a.Ref())
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// place assigns entities to files, kind by kind, perFile to a file, and
// builds the root Location that targets every file.
func (g *builder) place(perFile int) {
	byKind := map[string]int{}
	var cur string
	inFile := 0
	for _, e := range g.set.Entities {
		dir := strings.ToLower(e.Kind) + "s"
		if cur == "" || !strings.HasPrefix(cur, dir+"/") || inFile == perFile {
			cur = fmt.Sprintf("%s/%s-%05d.yaml", dir, strings.ToLower(e.Kind), byKind[e.Kind])
			byKind[e.Kind]++
			g.set.Files = append(g.set.Files, cur)
			inFile = 0
		}
		e.File = cur
		inFile++
	}
	g.set.Root = &Entity{Kind: "Location", Name: "bench-root", File: RootFile,
		Description: fmt.Sprintf("Generated benchmark catalog of %d entities from seed %d.", g.set.N, g.set.Seed)}
}

// Relations returns every relation the catalog should show, both
// directions, without duplicates. It is computed once; callers must not
// modify the result.
func (s *Set) Relations() []Relation {
	s.relsOnce.Do(func() {
		s.rels = make([]Relation, 0, 6*len(s.Entities))
		for _, e := range s.Entities {
			s.forEachRef(e, func(src, typ, dst, inv string) {
				s.rels = append(s.rels, Relation{src, typ, dst}, Relation{dst, inv, src})
			})
		}
	})
	return s.rels
}

// forEachRef calls add for every reference in e's spec with the forward and
// inverse relation types it produces.
func (s *Set) forEachRef(e *Entity, add func(src, typ, dst, inv string)) {
	src := e.Ref()
	if e.Owner != "" {
		add(src, "ownedBy", e.Owner, "ownerOf")
	}
	if e.System != "" {
		add(src, "partOf", e.System, "hasPart")
	}
	if e.Domain != "" {
		add(src, "partOf", e.Domain, "hasPart")
	}
	if e.Parent != "" {
		add(src, "childOf", e.Parent, "parentOf")
	}
	// A group's children are the groups whose parent it is, so they name
	// the same pairs as Parent above and add nothing. Every other list
	// holds distinct refs, so no pair is produced twice.
	for _, m := range e.MemberOf {
		add(src, "memberOf", m, "hasMember")
	}
	for _, a := range e.Provides {
		add(src, "providesApi", a, "apiProvidedBy")
	}
	for _, a := range e.Consumes {
		add(src, "consumesApi", a, "apiConsumedBy")
	}
	for _, d := range e.DependsOn {
		add(src, "dependsOn", d, "dependencyOf")
	}
}

// CountByKind returns the number of generated entities per kind, lowercased,
// including the root Location.
func (s *Set) CountByKind() map[string]int {
	out := map[string]int{"location": 1}
	for _, e := range s.Entities {
		out[strings.ToLower(e.Kind)]++
	}
	return out
}

// SourcesByRelationType returns, per relation type lowercased, how many
// entities carry at least one relation of that type: what a filter
// `relations.<type>` (key exists) should count once everything is stitched.
func (s *Set) SourcesByRelationType() map[string]int {
	sources := map[string]map[string]struct{}{}
	for _, r := range s.Relations() {
		t := strings.ToLower(r.Type)
		if sources[t] == nil {
			sources[t] = map[string]struct{}{}
		}
		sources[t][r.Source] = struct{}{}
	}
	out := make(map[string]int, len(sources))
	for t, m := range sources {
		out[t] = len(m)
	}
	return out
}

// RelationsOf returns the relations each of refs should show, sorted by type
// then target, keyed by ref.
func (s *Set) RelationsOf(refs []string) map[string][]Relation {
	want := make(map[string]bool, len(refs))
	for _, r := range refs {
		want[r] = true
	}
	out := map[string][]Relation{}
	for _, r := range s.Relations() {
		if want[r.Source] {
			out[r.Source] = append(out[r.Source], r)
		}
	}
	for _, rs := range out {
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Type != rs[j].Type {
				return rs[i].Type < rs[j].Type
			}
			return rs[i].Target < rs[j].Target
		})
	}
	return out
}

// Teams returns the refs of the team groups, the usual owners.
func (s *Set) Teams() []string {
	var out []string
	for _, e := range s.Entities {
		if e.Kind == "Group" && e.Type == "team" {
			out = append(out, e.Ref())
		}
	}
	return out
}
