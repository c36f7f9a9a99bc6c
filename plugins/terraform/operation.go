package terraform

import (
	"net/http"
	"time"

	"github.com/atrium-portal/atrium/internal/integrations/tfc"
	"github.com/atrium-portal/atrium/plugin"
)

// operation is the resume token of a queued run, kept in Atrium's
// operations store (plugin.StepOperation) until its step ends. When Atrium
// restarts in the middle of a step (on this replica or another), the
// scaffolder runs the step again; the action then finds the operation and
// follows the run it queued instead of uploading and queueing another.
type operation struct {
	RunID     string `json:"runId"`
	Workspace string `json:"workspace"`
}

// transient judges a Terraform error for plugin.Retry: 429 and 5xx
// answers, and the transport's timeouts and lost connections.
func transient(err error) (bool, time.Duration) {
	switch s := tfc.Status(err); {
	case s == http.StatusTooManyRequests || s >= 500:
		return true, 0
	case s == 0:
		return plugin.Transient(err)
	}
	return false, 0
}
