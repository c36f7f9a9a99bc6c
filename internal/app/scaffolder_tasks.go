package app

import (
	"github.com/atrium-portal/atrium/internal/scaffolder/taskui"
	"github.com/atrium-portal/atrium/internal/web"
	"github.com/atrium-portal/atrium/internal/web/ui"
)

// taskPages builds the scaffolder's task pages (/create/tasks) over the
// task service that scaffolder() built; it runs after it.
func (a *App) taskPages(portal *ui.UI) (func(web.Mux), error) {
	lim, sc := a.cfg.Atrium.Limits, a.cfg.Atrium.Scaffolder
	pages, err := taskui.New(taskui.Params{
		Service: a.scaffolderSvc, Authz: a.authz, Render: portal,
		Limits: taskui.Limits{PageSize: lim.DefaultPageSize, MaxPageSize: lim.MaxPageSize,
			MaxStreams: sc.TaskStreams, MaxEvents: sc.TaskLogLines},
		Operations: a.taskOperations,
	})
	if err != nil {
		return nil, err
	}
	return pages.Register, nil
}
