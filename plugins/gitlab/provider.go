package gitlab

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/atrium-portal/atrium/internal/catalog"
	client "github.com/atrium-portal/atrium/internal/integrations/gitlab"
	"github.com/atrium-portal/atrium/plugin"
)

// Provider discovers entity files (catalog-info.yaml) on the default
// branch of every project of the configured groups and their subgroups:
// a full mutation on each scan (refreshInterval, 30m by default), and a
// delta for one project when a push webhook says it changed.
type Provider struct {
	p *Plugin

	mu   sync.Mutex
	emit func(context.Context, plugin.Mutation) error
	// refs are the entity refs each project ("host/path") gave last.
	refs map[string][]string
}

var _ plugin.EntityProvider = (*Provider)(nil)

// ProviderName is the provider's name (plugin:gitlab:gitlab-discovery).
const ProviderName = "gitlab-discovery"

func (pr *Provider) Name() string { return ProviderName }

// Run scans at once, then every refresh interval; a scan with a failed
// group emits nothing (a full mutation would drop that group's
// entities) and is tried again after a minute.
func (pr *Provider) Run(ctx context.Context, emit func(context.Context, plugin.Mutation) error) error {
	pr.mu.Lock()
	pr.emit = emit
	pr.mu.Unlock()
	every := 30 * time.Minute
	for _, d := range pr.p.cfg.Discovery {
		if v, _ := duration(d.RefreshInterval, ""); v > 0 && v < every {
			every = v
		}
	}
	for {
		wait := every
		if err := pr.Scan(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			pr.p.log.Error("gitlab discovery: scan failed; the catalog keeps the last scan's entities", "err", err)
			wait = min(every, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Scan reads every configured group and emits one full mutation.
func (pr *Provider) Scan(ctx context.Context) error {
	pr.mu.Lock()
	emit := pr.emit
	pr.mu.Unlock()
	if emit == nil {
		return plugin.Errorf(plugin.ErrUnavailable, "gitlab discovery is not running yet")
	}
	full := plugin.Mutation{Type: plugin.MutationFull}
	refs := map[string][]string{}
	seen := map[string]bool{}
	for i, d := range pr.p.cfg.Discovery {
		inst, err := pr.p.instance(d.Host)
		if err != nil {
			return err
		}
		limit := d.MaxProjects
		if limit <= 0 {
			limit = 10000
		}
		for _, g := range d.Groups {
			projects, err := client.Pages(limit+1, func(page int64) ([]*gl.Project, *gl.Response, error) {
				return inst.client.API.Groups.ListGroupProjects(g, &gl.ListGroupProjectsOptions{
					IncludeSubGroups: gl.Ptr(true), Archived: gl.Ptr(false), WithShared: gl.Ptr(false),
					ListOptions: gl.ListOptions{Page: page, PerPage: 100}}, client.Opt(ctx))
			})
			if err != nil {
				return inst.client.Err("listing the projects of group "+g, err)
			}
			if len(projects) > limit {
				return plugin.Errorf(plugin.ErrInvalid, "group %s on %s has more than %d projects (plugins.gitlab.config.discovery[%d].maxProjects); raise the limit or list its subgroups instead", g, d.Host, limit, i)
			}
			for _, proj := range projects {
				key := strings.ToLower(d.Host + "/" + proj.PathWithNamespace)
				if seen[key] || (proj.ForkedFromProject != nil && (d.SkipForks == nil || *d.SkipForks)) {
					continue
				}
				seen[key] = true
				ents, err := pr.read(ctx, inst, d, proj)
				if err != nil {
					return err
				}
				full.Entities = append(full.Entities, ents...)
				refs[key] = entityRefs(ents)
			}
		}
	}
	if err := emit(ctx, full); err != nil {
		return err
	}
	pr.mu.Lock()
	pr.refs = refs
	pr.mu.Unlock()
	pr.p.log.Info("gitlab discovery: scanned", "projects", len(seen), "entities", len(full.Entities))
	return nil
}

// Refresh re-reads one project (a push webhook) and emits a delta: its
// entities now, and the removal of those it no longer has.
func (pr *Provider) Refresh(ctx context.Context, host, projectPath string) (int, error) {
	pr.mu.Lock()
	emit := pr.emit
	pr.mu.Unlock()
	if emit == nil {
		return 0, plugin.Errorf(plugin.ErrUnavailable, "gitlab discovery is not running yet; the push is picked up by the next scan")
	}
	d, ok := pr.p.discoveryFor(host, projectPath)
	if !ok {
		return 0, nil
	}
	inst, err := pr.p.instance(host)
	if err != nil {
		return 0, err
	}
	proj, _, err := inst.client.API.Projects.GetProject(projectPath, nil, client.Opt(ctx))
	if err != nil && !client.IsNotFound(err) {
		return 0, inst.client.Err("looking up project "+projectPath, err)
	}
	var ents []json.RawMessage
	if err == nil {
		if ents, err = pr.read(ctx, inst, d, proj); err != nil {
			return 0, err
		}
	}
	key := strings.ToLower(host + "/" + projectPath)
	now := entityRefs(ents)
	pr.mu.Lock()
	var removed []string
	for _, r := range pr.refs[key] {
		if !slices.Contains(now, r) {
			removed = append(removed, r)
		}
	}
	pr.mu.Unlock()
	if len(ents) == 0 && len(removed) == 0 {
		return 0, nil
	}
	if err := emit(ctx, plugin.Mutation{Type: plugin.MutationDelta, Entities: ents, Removed: removed}); err != nil {
		return 0, err
	}
	pr.mu.Lock()
	if pr.refs == nil {
		pr.refs = map[string][]string{}
	}
	pr.refs[key] = now
	pr.mu.Unlock()
	return len(ents) + len(removed), nil
}

// discoveryFor is the discovery entry covering projectPath on host.
func (p *Plugin) discoveryFor(host, projectPath string) (DiscoveryConfig, bool) {
	for _, d := range p.cfg.Discovery {
		if !strings.EqualFold(d.Host, host) {
			continue
		}
		for _, g := range d.Groups {
			if strings.HasPrefix(strings.ToLower(projectPath), strings.ToLower(strings.Trim(g, "/"))+"/") {
				return d, true
			}
		}
	}
	return DiscoveryConfig{}, false
}

// read returns the entities of proj's entity file (none when it has no
// default branch or no such file). Entities that do not parse are left
// out with a log line; the rest of the scan goes on.
func (pr *Provider) read(ctx context.Context, inst *instance, d DiscoveryConfig, proj *gl.Project) ([]json.RawMessage, error) {
	branch := d.Branch
	if branch == "" {
		branch = proj.DefaultBranch
	}
	name := d.EntityFilename
	if name == "" {
		name = "catalog-info.yaml"
	}
	if branch == "" {
		return nil, nil
	}
	data, _, err := inst.client.API.RepositoryFiles.GetRawFile(proj.ID, name, &gl.GetRawFileOptions{Ref: gl.Ptr(branch)}, client.Opt(ctx))
	if client.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, inst.client.Err(fmt.Sprintf("reading %s of %s", name, proj.PathWithNamespace), err)
	}
	fileURL := proj.WebURL + "/-/blob/" + branch + "/" + name
	docs, perr := catalog.ParseDescriptors(fileURL, data, catalog.Limits{})
	if perr != nil {
		pr.p.log.Warn("gitlab discovery: entity file has problems; its valid entities are kept", "file", fileURL, "err", perr)
	}
	var out []json.RawMessage
	for _, doc := range docs {
		meta, _ := doc.Raw["metadata"].(map[string]any)
		if meta == nil {
			continue
		}
		ann, _ := meta["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			meta["annotations"] = ann
		}
		ann["backstage.io/managed-by-location"] = "url:" + fileURL
		ann["backstage.io/managed-by-origin-location"] = "url:" + fileURL
		if _, ok := ann["backstage.io/source-location"]; !ok {
			ann["backstage.io/source-location"] = "url:" + proj.WebURL + "/-/tree/" + branch + "/"
		}
		if _, ok := ann[SlugAnnotation]; !ok {
			ann[SlugAnnotation] = proj.PathWithNamespace
		}
		if _, ok := ann[InstanceAnnotation]; !ok {
			ann[InstanceAnnotation] = inst.cfg.Host
		}
		b, err := json.Marshal(doc.Raw)
		if err != nil {
			continue
		}
		out = append(out, b)
	}
	return out, nil
}

// entityRefs are the refs (kind:namespace/name, lower case) of ents.
func entityRefs(ents []json.RawMessage) []string {
	var out []string
	for _, raw := range ents {
		var e struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		ns := e.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		out = append(out, strings.ToLower(e.Kind+":"+ns+"/"+e.Metadata.Name))
	}
	return out
}
