package azure

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
)

// operation is a started deployment persisted in the plugin's data
// directory until its step ends. When Atrium restarts in the middle of a
// step, the scaffolder runs the step again; the action then finds the
// operation and follows the deployment from the poller's resume token
// instead of starting another.
type operation struct {
	Subscription string `json:"subscription"`
	Group        string `json:"group"`
	Name         string `json:"name"`
	ResumeToken  string `json:"resumeToken"`
}

// operations stores operations as files named after the task and the
// step's input (a task's steps differ by their input).
type operations struct{ dir string }

func (o operations) path(taskID string, input map[string]any) string {
	b, _ := json.Marshal(input)
	sum := sha256.Sum256(append([]byte(taskID+"\x00"), b...))
	return filepath.Join(o.dir, hex.EncodeToString(sum[:16])+".json")
}

func (o operations) load(taskID string, input map[string]any) (operation, bool) {
	if o.dir == "" || taskID == "" {
		return operation{}, false
	}
	b, err := os.ReadFile(o.path(taskID, input))
	if err != nil {
		return operation{}, false
	}
	var op operation
	if json.Unmarshal(b, &op) != nil || op.ResumeToken == "" {
		return operation{}, false
	}
	return op, true
}

func (o operations) save(taskID string, input map[string]any, op operation) error {
	if o.dir == "" || taskID == "" {
		return nil
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(op)
	p := o.path(taskID, input)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (o operations) done(taskID string, input map[string]any) {
	if o.dir == "" || taskID == "" {
		return
	}
	_ = os.Remove(o.path(taskID, input))
}
