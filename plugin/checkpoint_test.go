package plugin_test

import (
	"testing"

	"github.com/atrium-portal/atrium/plugin"
)

func TestCheckpoints(t *testing.T) {
	c := plugin.Checkpoints{Dir: t.TempDir()}
	in := map[string]any{"job": "deploy"}
	type op struct{ ID int }
	var got op
	if c.Load("t1", in, &got) {
		t.Fatal("a checkpoint before any was saved")
	}
	if err := c.Save("t1", in, op{ID: 7}); err != nil {
		t.Fatal(err)
	}
	if !c.Load("t1", in, &got) || got.ID != 7 {
		t.Fatalf("after save: %v %+v", c.Load("t1", in, &got), got)
	}
	// Another step of the task (other input) or another task has none.
	if c.Load("t1", map[string]any{"job": "other"}, &op{}) || c.Load("t2", in, &op{}) {
		t.Error("a checkpoint leaked to another step or task")
	}
	c.Clear("t1", in)
	if c.Load("t1", in, &op{}) {
		t.Error("a cleared checkpoint is still there")
	}
	// The zero value and a request without a task keep nothing.
	if err := (plugin.Checkpoints{}).Save("t1", in, op{ID: 1}); err != nil || c.Load("", in, &op{}) {
		t.Error("zero Checkpoints or an empty task id kept something")
	}
}
