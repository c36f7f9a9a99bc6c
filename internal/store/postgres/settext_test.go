package postgres

import (
	"context"
	"testing"
)

// TestTextGenericStaysLocal checks that the generic plan setting (and jit
// off) applies to the statement TextGeneric runs and to no later statement of the
// connection: every other statement is still planned for its values.
func TestTextGenericStaysLocal(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	r := runner{db}
	for i := range 3 {
		got, err := r.TextGeneric(ctx, "SELECT current_setting('plan_cache_mode') || ' jit=' || current_setting('jit') || $1::text", []any{"!"})
		if err != nil {
			t.Fatal(err)
		}
		if want := "force_generic_plan jit=off!"; got != want {
			t.Fatalf("run %d: got %q, want %q", i, got, want)
		}
	}
	conns := db.pool.AcquireAllIdle(ctx)
	if len(conns) == 0 {
		t.Fatal("no idle connection to check")
	}
	for _, c := range conns {
		var mode string
		var jitDefault bool
		err := c.QueryRow(ctx, "SELECT current_setting('plan_cache_mode'), (SELECT setting = reset_val FROM pg_settings WHERE name = 'jit')").Scan(&mode, &jitDefault)
		c.Release()
		if err != nil {
			t.Fatal(err)
		}
		if mode != "force_custom_plan" {
			t.Errorf("got %q after TextGeneric, want force_custom_plan", mode)
		}
		if !jitDefault {
			t.Error("jit is not the session's default after TextGeneric")
		}
	}
}
