package guard_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/plugin"
)

func TestCall(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	want := errors.New("plain")
	if err := guard.Call(log, "acme", "service sync: Run", func() error { return want }); err != want {
		t.Errorf("an error: got %v, want %v", err, want)
	}
	if err := guard.Call(log, "acme", "service sync: Run", func() error { return nil }); err != nil {
		t.Errorf("no error: got %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("logged without a panic: %s", logs.String())
	}

	err := guard.Call(log, "acme", "service sync: Run", func() error {
		var m map[string]int
		m["token=s3cret"]++
		return nil
	})
	if err == nil || plugin.KindOf(err) != plugin.ErrInternal {
		t.Fatalf("a panic: got %#v, want an error of kind internal", err)
	}
	if got, want := err.Error(), "plugin acme panicked in service sync: Run"; !strings.HasPrefix(got, want) {
		t.Errorf("message: got %q, want it to start with %q", got, want)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "nil map") {
		t.Errorf("the panic's value is in the message users see: %q", err.Error())
	}
	if !guard.IsPanic(err) || guard.IsPanic(want) {
		t.Errorf("IsPanic: got %v for the panic, %v for a plain error", guard.IsPanic(err), guard.IsPanic(want))
	}
	for _, s := range []string{"acme", "service sync: Run", "nil map", "guard_test.go"} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("the log lacks %q: %s", s, logs.String())
		}
	}
}

// TestCallPanicNil: panic(nil) is a *runtime.PanicNilError since Go 1.21,
// recovered like any other.
func TestCallPanicNil(t *testing.T) {
	err := guard.Call(nil, "acme", "x", func() error { panic(nil) })
	if !guard.IsPanic(err) {
		t.Errorf("got %v, want a recovered panic", err)
	}
}
