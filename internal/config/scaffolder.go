package config

import (
	"encoding/base64"
	"time"
)

// Scaffolder configures software templates: Backstage's top-level
// `scaffolder` keys (concurrentTasksLimit, defaultAuthor,
// defaultCommitMessage) and Atrium's limits under atrium.scaffolder.
type Scaffolder struct {
	// ConcurrentTasksLimit is the number of tasks one process runs at once
	// (scaffolder.concurrentTasksLimit; 0 runs none: an API-only replica).
	ConcurrentTasksLimit int
	// DefaultAuthorName, DefaultAuthorEmail and DefaultCommitMessage are
	// publish:git's commit metadata (scaffolder.defaultAuthor, …).
	DefaultAuthorName    string
	DefaultAuthorEmail   string
	DefaultCommitMessage string

	// StepTimeout bounds one step (atrium.scaffolder.stepTimeout).
	StepTimeout time.Duration
	// StaleTaskAfter is how long a running task may go without a
	// heartbeat before another worker resumes it.
	StaleTaskAfter time.Duration
	// RenderTimeout and MaxRenderBytes bound one template render.
	RenderTimeout  time.Duration
	MaxRenderBytes int64
	// MaxFetchFileBytes bounds one file a fetch action reads; MaxFetchFiles
	// the files of one fetch.
	MaxFetchFileBytes int64
	MaxFetchFiles     int
	// GalleryLimit, RecentRuns and SuggestionLimit bound the portal's
	// create pages: templates in the gallery, tasks listed on a template's
	// page, and answers of a picker's type-ahead.
	GalleryLimit    int
	RecentRuns      int
	SuggestionLimit int
	// TaskStreams caps the live task-page streams one process serves at
	// once; TaskLogLines the log lines one task page shows.
	TaskStreams  int
	TaskLogLines int
	// SecretsKey is the base64 AES-256 key sealing task secrets at rest
	// (atrium.scaffolder.secretsKey; use ${VAR}). Without it a key is
	// generated once under atrium.dataDir with mode 0600.
	SecretsKey []byte
}

func scaffolderDefaults() Scaffolder {
	return Scaffolder{
		ConcurrentTasksLimit: 10, DefaultAuthorName: "Scaffolder", DefaultAuthorEmail: "scaffolder@atrium.local",
		DefaultCommitMessage: "Initial commit", StepTimeout: 30 * time.Minute, StaleTaskAfter: 30 * time.Second,
		RenderTimeout: 2 * time.Second, MaxRenderBytes: 1 << 20, MaxFetchFileBytes: 10 << 20, MaxFetchFiles: 5000,
		GalleryLimit: 200, RecentRuns: 10, SuggestionLimit: 20,
		TaskStreams: 500, TaskLogLines: 5000,
	}
}

// backstageScaffolder reads Backstage's top-level scaffolder section.
func (d *decoder) backstageScaffolder(n *node, path string, s *Scaffolder) {
	d.fields(n, path, map[string]func(*node, string){
		"concurrentTasksLimit": func(v *node, p string) { d.integer(v, p, 0, 1000, &s.ConcurrentTasksLimit) },
		"defaultCommitMessage": func(v *node, p string) { d.str(v, p, &s.DefaultCommitMessage) },
		"defaultAuthor": func(v *node, p string) {
			d.fields(v, p, map[string]func(*node, string){
				"name":  func(v *node, p string) { d.str(v, p, &s.DefaultAuthorName) },
				"email": func(v *node, p string) { d.str(v, p, &s.DefaultAuthorEmail) },
			})
		},
	}, "taskTimeoutJanitorFrequency", "EXPERIMENTAL_recoverTasks", "EXPERIMENTAL_recoverTasksTimeout")
}

// atriumScaffolder reads atrium.scaffolder.
func (d *decoder) atriumScaffolder(n *node, path string, s *Scaffolder) {
	d.fields(n, path, map[string]func(*node, string){
		"stepTimeout":       func(v *node, p string) { d.positiveDuration(v, p, &s.StepTimeout) },
		"staleTaskAfter":    func(v *node, p string) { d.positiveDuration(v, p, &s.StaleTaskAfter) },
		"renderTimeout":     func(v *node, p string) { d.positiveDuration(v, p, &s.RenderTimeout) },
		"maxRenderBytes":    func(v *node, p string) { d.bytes(v, p, &s.MaxRenderBytes) },
		"maxFetchFileBytes": func(v *node, p string) { d.bytes(v, p, &s.MaxFetchFileBytes) },
		"maxFetchFiles":     func(v *node, p string) { d.integer(v, p, 1, 1_000_000, &s.MaxFetchFiles) },
		"galleryLimit":      func(v *node, p string) { d.integer(v, p, 1, 10_000, &s.GalleryLimit) },
		"recentRuns":        func(v *node, p string) { d.integer(v, p, 1, 100, &s.RecentRuns) },
		"suggestionLimit":   func(v *node, p string) { d.integer(v, p, 1, 200, &s.SuggestionLimit) },
		"taskStreams":       func(v *node, p string) { d.integer(v, p, 1, 100_000, &s.TaskStreams) },
		"taskLogLines":      func(v *node, p string) { d.integer(v, p, 1, 1_000_000, &s.TaskLogLines) },
		"secretsKey": func(v *node, p string) {
			var raw string
			d.str(v, p, &raw)
			key, err := base64.StdEncoding.DecodeString(raw)
			if err != nil || len(key) != 32 {
				d.fail(v, p, "must be 32 bytes, base64-encoded (openssl rand -base64 32)")
				return
			}
			s.SecretsKey = key
		},
	})
}
