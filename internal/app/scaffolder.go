package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/atrium-portal/atrium/internal/engine"
	"github.com/atrium-portal/atrium/internal/scaffolder"
	"github.com/atrium-portal/atrium/internal/scaffolder/actions"
	scaffolderapi "github.com/atrium-portal/atrium/internal/scaffolder/api"
	"github.com/atrium-portal/atrium/internal/scaffolder/tmpl"
	scaffolderui "github.com/atrium-portal/atrium/internal/scaffolder/ui"
	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// gitRoutes are the embedded git host's read-only routes. They are not
// public: in development mode every request already acts as the development
// user, so `git clone` needs nothing; with sign-in configured, a clone sends
// an API token (git -c http.extraHeader="Authorization: Bearer atr_pat_…").
var gitRoutes = []string{"GET /git/", "HEAD /git/"}

// scaffolder builds the template runner: actions, the task service, its
// River queue (worked by startJobs' client) and janitor, the API and the
// embedded git host's routes.
func (a *App) scaffolder(ctx context.Context) (func(web.Mux), error) {
	cfg := a.cfg.Atrium.Scaffolder
	dir := filepath.Join(a.cfg.Atrium.DataDir, "scaffolder")
	box, err := a.taskSecretsBox(dir)
	if err != nil {
		return nil, err
	}
	te := tmpl.New(tmpl.Limits{MaxBytes: int(cfg.MaxRenderBytes), Timeout: cfg.RenderTimeout})
	// Absolute, so that registered file locations do not depend on the
	// working directory.
	gitDir, err := filepath.Abs(filepath.Join(a.cfg.Atrium.DataDir, "git"))
	if err != nil {
		return nil, fmt.Errorf("scaffolder: %w", err)
	}
	git := &actions.GitHost{
		Dir: gitDir, BaseURL: a.cfg.Backend.BaseURL,
		AuthorName: cfg.DefaultAuthorName, AuthorEmail: cfg.DefaultAuthorEmail, Message: cfg.DefaultCommitMessage,
	}
	allow := make([]engine.AllowedHost, len(a.cfg.Backend.Reading.Allow))
	for i, h := range a.cfg.Backend.Reading.Allow {
		allow[i] = engine.AllowedHost{Host: h.Host, Paths: h.Paths}
	}
	deps := actions.Deps{
		Catalog: a.engine, Templates: te, Git: git,
		URLReader:    &engine.URLReader{MaxBytes: cfg.MaxFetchFileBytes, Allow: allow},
		MaxFileBytes: cfg.MaxFetchFileBytes, MaxFiles: cfg.MaxFetchFiles,
	}
	// TechDocs of url locations read their folders the same way.
	a.folders = deps
	reg, err := a.pluginActions(ctx, deps)
	if err != nil {
		return nil, err
	}
	svc, err := scaffolder.New(scaffolder.Params{
		Store: a.store, Catalog: a.catalog, Registry: reg, Tmpl: te, Box: box, Logger: a.log,
		WorkDir: filepath.Join(dir, "workspaces"), StepTimeout: cfg.StepTimeout, StaleAfter: cfg.StaleTaskAfter,
		Heartbeat: min(2*time.Second, cfg.StaleTaskAfter/3), Operations: a.operationsSvc,
	})
	if err != nil {
		return nil, err
	}
	// Its queue is on the process's one River client (startJobs).
	a.jobQueues = append(a.jobQueues, svc.JobQueue(a.taskWorkers(cfg.ConcurrentTasksLimit)))
	a.background = append(a.background, func(ctx context.Context) error {
		svc.RunJanitor(ctx, 0)
		return nil
	})
	a.scaffolderSvc = svc
	api := &scaffolderapi.API{Service: svc, Catalog: a.catalog, Authz: a.authz, MaxPageSize: a.cfg.Atrium.Limits.MaxPageSize}
	return func(mux web.Mux) {
		api.Register(mux)
		h := git.Handler()
		for _, p := range gitRoutes {
			mux.Handle(p, h)
		}
	}, nil
}

// taskSecretsBox returns the box sealing task secrets: atrium.secrets.keys
// when configured (so `atrium secrets rotate` re-seals them), else
// atrium.scaffolder.secretsKey, else a key generated once and kept in dir
// with mode 0600.
func (a *App) taskSecretsBox(dir string) (*secrets.Box, error) {
	if len(a.cfg.Atrium.Secrets.Keys) > 0 {
		return a.SecretBox()
	}
	key := a.cfg.Atrium.Scaffolder.SecretsKey
	if key == nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("scaffolder: %w", err)
		}
		file := filepath.Join(dir, "task-secrets.key")
		key, _ = os.ReadFile(file)
		if len(key) != 32 {
			key = make([]byte, 32)
			_, _ = rand.Read(key)
			if err := os.WriteFile(file, key, 0o600); err != nil {
				return nil, fmt.Errorf("scaffolder: write %s: %w", file, err)
			}
		}
	}
	return secrets.NewBox([]secrets.Key{{ID: "task", Key: key}})
}

// createPages builds the template gallery and forms (/create) over the
// task service that scaffolder() built; it runs after it.
func (a *App) createPages(portal *ui.UI) (func(web.Mux), error) {
	cfg := a.cfg.Atrium.Scaffolder
	pages, err := scaffolderui.New(a.scaffolderSvc, a.catalog, a.authz, portal, a.log, scaffolderui.Limits{
		Gallery: cfg.GalleryLimit, RecentRuns: cfg.RecentRuns, Suggestions: cfg.SuggestionLimit,
	})
	if err != nil {
		return nil, err
	}
	return pages.Register, nil
}

// Scaffolder returns the template runner (nil with NoServer).
func (a *App) Scaffolder() *scaffolder.Service { return a.scaffolderSvc }
