package gitlab

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/demo"
	"github.com/atrium-portal/atrium/internal/integrations/gitlab/gitlabsim"
)

// seedDemo gives the simulated GitLab a project for every entity of the
// demo catalog that names one (gitlab.com/project-slug), with a README, a
// pipeline history and an open merge request, so the demo's GitLab cards
// show something. Which statuses a project gets is derived from its
// position, so every demo start looks the same.
func seedDemo(sim *gitlabsim.Sim) {
	type project struct{ slug, name, description string }
	var projects []project
	_ = fs.WalkDir(demo.Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || strings.Contains(path, "/skeleton/") {
			return nil
		}
		data, err := fs.ReadFile(demo.Files(), path)
		if err != nil || !strings.Contains(string(data), SlugAnnotation) {
			return nil
		}
		docs, _ := catalog.ParseDescriptors(path, data, catalog.Limits{})
		for _, doc := range docs {
			meta, _ := doc.Raw["metadata"].(map[string]any)
			ann, _ := meta["annotations"].(map[string]any)
			slug, _ := ann[SlugAnnotation].(string)
			if slug == "" || !strings.Contains(slug, "/") {
				continue
			}
			name, _ := meta["name"].(string)
			desc, _ := meta["description"].(string)
			projects = append(projects, project{slug: slug, name: name, description: desc})
		}
		return nil
	})
	sort.Slice(projects, func(i, j int) bool { return projects[i].slug < projects[j].slug })
	statuses := []string{"success", "failed", "running", "success", "canceled"}
	for i, p := range projects {
		files := map[string]string{
			"README.md":      fmt.Sprintf("# %s\n\n%s\n\n## Development\n\nRun `make test` before opening a merge request.\n", p.name, p.description),
			".gitlab-ci.yml": "stages: [test, build]\ntest: { stage: test, script: [make test] }\n",
		}
		pid := sim.AddProject(p.slug, "main", files)
		for k := range 3 {
			sim.AddPipeline(pid, "main", statuses[(i+k)%len(statuses)])
		}
		if i%2 == 0 {
			sim.AddMergeRequest(pid, "update-dependencies", "Update dependencies", "renovate-bot")
		}
	}
	sim.AddGroup("demo")
}
