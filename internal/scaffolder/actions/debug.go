package actions

import (
	"context"
	"io/fs"
	"time"

	"github.com/atrium-portal/atrium/internal/scaffolder"
)

func debugLog() scaffolder.Action {
	return &action{
		id: "debug:log", description: "Writes a message into the log or lists all files in the workspace.",
		in: schema(`{"type":"object","properties":{
			"message":{"type":"string"},"listWorkspace":{"type":["boolean","string"],"enum":[true,false,"with-filenames","with-contents"]},
			"extra":{}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct {
				Message       string
				ListWorkspace any
				Extra         any
			}](ac)
			if err != nil {
				return err
			}
			if in.Message != "" {
				ac.Logger.Info(in.Message)
			}
			if in.Extra != nil {
				ac.Logger.Info("extra", "extra", in.Extra)
			}
			if in.ListWorkspace == true || in.ListWorkspace == "with-filenames" || in.ListWorkspace == "with-contents" {
				return fs.WalkDir(ac.Workspace.FS(), ".", func(p string, e fs.DirEntry, err error) error {
					if err != nil || e.IsDir() {
						return err
					}
					if in.ListWorkspace == "with-contents" {
						data, err := ac.Workspace.ReadFile(p)
						if err != nil {
							return err
						}
						if len(data) > 4096 {
							data = data[:4096]
						}
						ac.Logger.Info(p, "content", string(data))
						return nil
					}
					ac.Logger.Info(p)
					return nil
				})
			}
			return nil
		},
	}
}

// maxWait bounds debug:wait, as Backstage does.
const maxWait = 10 * time.Minute

func debugWait() scaffolder.Action {
	return &action{
		id: "debug:wait", description: "Waits for a certain period of time.",
		in: schema(`{"type":"object","properties":{
			"minutes":{"type":"number","minimum":0},"seconds":{"type":"number","minimum":0},"milliseconds":{"type":"number","minimum":0}}}`),
		out: schema(noOutput),
		run: func(ctx context.Context, ac scaffolder.ActionContext) error {
			in, err := input[struct{ Minutes, Seconds, Milliseconds float64 }](ac)
			if err != nil {
				return err
			}
			d := time.Duration(in.Minutes*float64(time.Minute) + in.Seconds*float64(time.Second) + in.Milliseconds*float64(time.Millisecond))
			if d > maxWait {
				return errorf("debug:wait: %s is longer than the maximum of %s", d, maxWait)
			}
			ac.Logger.Info("waiting", "duration", d.String())
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		},
	}
}
