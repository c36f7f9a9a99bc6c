package app

import (
	"context"

	"github.com/atrium-portal/atrium/internal/secrets"
	"github.com/atrium-portal/atrium/internal/store"
)

// SecretBox returns the Box built from atrium.secrets.keys.
func (a *App) SecretBox() (*secrets.Box, error) {
	keys := make([]secrets.Key, len(a.cfg.Atrium.Secrets.Keys))
	for i, k := range a.cfg.Atrium.Secrets.Keys {
		keys[i] = secrets.Key{ID: k.ID, Key: k.Key}
	}
	return secrets.NewBox(keys)
}

// SecretStores returns every store of sealed values, for key rotation.
func (a *App) SecretStores() []secrets.Rotatable {
	return []secrets.Rotatable{taskSecrets{a.store}}
}

// taskSecretsAAD is the associated data the scaffolder seals task secrets
// with (internal/scaffolder/service.go); both must change together.
var taskSecretsAAD = []byte("scaffolder-task-secrets")

// taskSecrets exposes the scaffolder tasks' sealed secrets to rotation.
type taskSecrets struct{ s store.TaskStore }

func (taskSecrets) Name() string { return "scaffolder task secrets" }

func (t taskSecrets) SealedScan(ctx context.Context, fn func(secrets.Sealed) error) error {
	const page = 500
	for offset := 0; ; offset += page {
		res, err := t.s.TaskList(ctx, store.TaskListParams{Limit: page, Offset: offset, Ascending: true})
		if err != nil {
			return err
		}
		for _, task := range res.Tasks {
			if task.Secrets == "" {
				continue
			}
			if err := fn(secrets.Sealed{ID: task.ID, AAD: taskSecretsAAD, Value: task.Secrets}); err != nil {
				return err
			}
		}
		if len(res.Tasks) < page {
			return nil
		}
	}
}

// SealedUpdate replaces the sealed value only if it is still old, inside
// the task's update transaction.
func (t taskSecrets) SealedUpdate(ctx context.Context, id, old, new string) error {
	_, err := t.s.TaskUpdate(ctx, id, func(task *store.Task) error {
		if task.Secrets == old {
			task.Secrets = new
		}
		return nil
	})
	return err
}
