package operations_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atrium-portal/atrium/internal/app/apptest"
	"github.com/atrium-portal/atrium/internal/operations"
	"github.com/atrium-portal/atrium/internal/store"
	"github.com/atrium-portal/atrium/internal/store/postgres"
	"github.com/atrium-portal/atrium/internal/store/sqlite"
	"github.com/atrium-portal/atrium/plugin"
)

// BenchmarkStepSave is what an action pays to keep its resume token
// current (the AWX action saves after every batch of log lines): one
// StepOperation.Save — the step's operation found by key, then updated in
// a transaction.
func BenchmarkStepSave(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "ops.db")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		benchSave(b, db)
	})
	if dsn := apptest.PostgresDSN(b); dsn != "" {
		b.Run("postgres", func(b *testing.B) {
			db, err := postgres.Open(context.Background(), postgres.Config{URL: dsn})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			benchSave(b, db)
		})
	}
}

func benchSave(b *testing.B, d store.Driver) {
	ctx := context.Background()
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	svc := &operations.Service{Store: d}
	req := plugin.ActionRequest{TaskID: "task-1", StepID: "launch", Operations: svc.For("awx", "task-1", "launch")}
	step := plugin.OperationKind{System: func() string { return "awx:bench" }, Kind: "job"}.Step(req)
	type token struct{ JobID, NextLine int }
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := step.Save(ctx, "7", "https://awx.bench/#/jobs/7", token{JobID: 7, NextLine: i}); err != nil {
			b.Fatal(err)
		}
	}
}
