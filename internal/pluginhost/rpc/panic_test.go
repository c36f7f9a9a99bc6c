package rpc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/pluginhosttest"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// TestPanicFailsTheCallNotThePlugin runs an action that panics in an
// out-of-process plugin: the host gets an internal plugin error with a
// safe message (no panic value), and the same process answers the next
// call.
func TestPanicFailsTheCallNotThePlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the test plugin")
	}
	bin := filepath.Join(t.TempDir(), "testplugin")
	if err := os.WriteFile(bin, pluginhosttest.BuildPlugin(t, "1.0.0", ">=1.0.0 <2.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := plugintest.Start(t, bin, rpc.StartOptions{})
	plugintest.Provision(t, c, nil)
	pid := c.Pid()

	const secret = "token-s3cr3t-in-the-panic"
	res := plugintest.RunAction(t, c, "test:echo", map[string]any{"panic": secret})
	if res.Err == nil {
		t.Fatal("panicking action: got no error")
	}
	if got := plugin.KindOf(res.Err); got != plugin.ErrInternal || !fault.Is(res.Err, fault.Internal) {
		t.Errorf("panicking action: got kind %s (fault %s), want internal", got, fault.KindOf(res.Err))
	}
	if msg := res.Err.Error(); !strings.Contains(msg, "plugin echo panicked") || strings.Contains(msg, secret) {
		t.Errorf("panicking action: got message %q, want one saying plugin echo panicked, without the panic's value", msg)
	}

	res = plugintest.RunAction(t, c, "test:echo", map[string]any{"text": "still here"})
	if res.Err != nil {
		t.Fatalf("call after the panic: %v", res.Err)
	}
	if got := res.Outputs["text"]; got != "still here" {
		t.Errorf("call after the panic: output text %v, want still here", got)
	}
	if c.Exited() || c.Pid() != pid {
		t.Errorf("the plugin process changed after the panic: exited %v, pid %d, was %d", c.Exited(), c.Pid(), pid)
	}
}
