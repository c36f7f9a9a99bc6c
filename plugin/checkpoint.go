package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
)

// Checkpoints keep what an action needs to resume long-running work (a job
// id, a run id, a poller's resume token) in a directory — usually under
// Host.DataDir — until its step ends. When Atrium restarts in the middle of
// a step, the scaffolder runs the step again with the same task and input;
// the action then finds its checkpoint and follows the work it started
// instead of starting it again.
//
// A checkpoint is a JSON file named after a hash of the task id and the
// step's input (a task's steps differ by their input), written atomically.
// The zero value, or a request without a task id, keeps nothing.
type Checkpoints struct {
	Dir string
}

func (c Checkpoints) path(taskID string, input map[string]any) string {
	b, _ := json.Marshal(input)
	sum := sha256.Sum256(append([]byte(taskID+"\x00"), b...))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:16])+".json")
}

// Load reads the checkpoint of a step into v and reports whether there was
// one.
func (c Checkpoints) Load(taskID string, input map[string]any, v any) bool {
	if c.Dir == "" || taskID == "" {
		return false
	}
	b, err := os.ReadFile(c.path(taskID, input))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// Save writes the checkpoint of a step.
func (c Checkpoints) Save(taskID string, input map[string]any, v any) error {
	if c.Dir == "" || taskID == "" {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p := c.path(taskID, input)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

// Clear removes the checkpoint of a step that ended.
func (c Checkpoints) Clear(taskID string, input map[string]any) {
	if c.Dir == "" || taskID == "" {
		return
	}
	_ = os.Remove(c.path(taskID, input))
}
