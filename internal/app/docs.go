package app

import (
	"context"

	"github.com/atrium-portal/atrium/internal/config"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/techdocs"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// docs builds the TechDocs service and its pages. The service reads the
// catalog through the authorizing catalog, so docs of entities a caller may
// not read are hidden like the entities; it follows the engine's change
// events to drop the sites of changed entities.
func (a *App) docs(portal *ui.UI) *ui.Docs {
	td := a.cfg.Atrium.TechDocs
	svc := techdocs.New(techdocs.Params{Catalog: a.catalog, Logger: a.log, Limits: techdocs.Limits{
		MaxFiles: td.MaxFiles, MaxFileBytes: td.MaxFileBytes, MaxSiteBytes: td.MaxSiteBytes,
		MaxConcurrentBuilds: td.MaxConcurrentBuilds, MaxSites: td.MaxSites,
	}, Acquire: a.heavyAcquirer(config.HeavyTechDocs), FetchFolder: a.fetchDocsFolder})
	ctx, cancel := context.WithCancel(context.Background())
	events, stop := a.engine.Subscribe(64)
	go svc.Follow(ctx, events)
	a.cleanup = append(a.cleanup, func() error {
		cancel()
		stop()
		return nil
	})
	return ui.NewDocs(portal, svc)
}

// fetchDocsFolder reads the docs folder of an entity from a url location,
// within the TechDocs limits.
func (a *App) fetchDocsFolder(ctx context.Context, folderURL string) (map[string][]byte, error) {
	d := a.folders
	if d.URLReader == nil {
		return nil, fault.New(fault.Unavailable, "documentation from url locations is not available before the server is set up")
	}
	td := a.cfg.Atrium.TechDocs
	d.MaxFiles, d.MaxFileBytes = td.MaxFiles, td.MaxFileBytes
	return d.FetchFolder(ctx, folderURL)
}
