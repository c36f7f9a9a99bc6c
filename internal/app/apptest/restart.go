package apptest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Restarted is a scaffolder task run across a restart of Atrium, as the
// second Atrium ends it.
type Restarted struct {
	Client Client      // a client of the second Atrium
	TaskID string      // the task
	Events []TaskEvent // its events, to its completion
	Task   Task        // the task once completed (or failed)
}

// RunAcrossRestart starts Atrium with cfg, whose catalog lies in dir, on
// dbYAML's database (a SQLite file in dir when ""), with a data folder in
// dir; creates a task (task is the body of POST …/tasks); stops Atrium
// once an event of the task satisfies until; and starts Atrium again on
// the same database. With replica on PostgreSQL, the second Atrium is
// another replica: its own data folder, only the database shared.
func RunAcrossRestart(t testing.TB, cfg, dir, dbYAML string, replica bool, task map[string]any, until func(TaskEvent) bool) Restarted {
	t.Helper()
	if dbYAML == "" {
		dbYAML = fmt.Sprintf("backend:\n  database: { client: sqlite, connection: %q }\n", filepath.Join(dir, "atrium.db"))
	}
	cfg += dbYAML
	cfg = strings.Replace(cfg, "atrium:\n", fmt.Sprintf("atrium:\n  dataDir: %q\n", filepath.Join(dir, "data")), 1)

	first := StartServer(t, cfg)
	c := Client{T: t, Base: first.BaseURL}
	var created struct{ ID string }
	c.JSON("POST", "/api/scaffolder/v2/tasks", task, 201, &created)
	c.TaskEvents(created.ID, until)
	first.Stop()

	if replica && !strings.Contains(dbYAML, "sqlite") {
		cfg = strings.Replace(cfg, filepath.Join(dir, "data"), filepath.Join(dir, "replica-2"), 1)
	}
	second := StartServer(t, cfg)
	r := Restarted{Client: Client{T: t, Base: second.BaseURL}, TaskID: created.ID}
	r.Events = r.Client.TaskEvents(created.ID, nil)
	r.Client.JSON("GET", "/api/scaffolder/v2/tasks/"+created.ID, nil, 200, &r.Task)
	return r
}
