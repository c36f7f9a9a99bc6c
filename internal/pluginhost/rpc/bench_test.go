package rpc_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
	"github.com/atrium-portal/atrium/plugin"
	"github.com/atrium-portal/atrium/plugin/plugintest"
)

// BenchmarkStart measures starting the example plugin out of process:
// fork/exec, handshake, mTLS, Info.
func BenchmarkStart(b *testing.B) {
	path := helloBinaryB(b)
	for b.Loop() {
		c, err := rpc.Start(context.Background(), rpc.StartOptions{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		c.Kill()
	}
}

// BenchmarkCardRender measures one entity card render: a unary call.
func BenchmarkCardRender(b *testing.B) {
	path := helloBinaryB(b)
	entity, _ := json.Marshal(map[string]any{"kind": "Component", "metadata": map[string]any{"name": "svc"}, "spec": map[string]any{"lifecycle": "production"}})
	out, err := rpc.Start(context.Background(), rpc.StartOptions{Path: path, StartTimeout: 20 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(out.Kill)
	if err := out.Provision(context.Background(), plugin.Host{}, nil); err != nil {
		b.Fatal(err)
	}
	card := out.Components().Cards[0]
	b.Run("out-of-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := card.Render(context.Background(), entity); err != nil {
				b.Fatal(err)
			}
		}
	})
	rss, _ := out.RSS()
	b.Logf("plugin RSS after the runs: %.1f MiB", float64(rss)/(1<<20))
}

// BenchmarkActionRun measures one hello:greet run out of process: a
// stream with a log line, two outputs and two progress reports.
func BenchmarkActionRun(b *testing.B) {
	path := helloBinaryB(b)
	out, err := rpc.Start(context.Background(), rpc.StartOptions{Path: path, StartTimeout: 20 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(out.Kill)
	if err := out.Provision(context.Background(), plugin.Host{}, nil); err != nil {
		b.Fatal(err)
	}
	a := out.Components().Actions[0]
	ws := b.TempDir()
	for b.Loop() {
		if err := a.Run(context.Background(), plugin.ActionRequest{Input: map[string]any{"name": "Ada"}, Workspace: ws}, &plugintest.Reporter{}); err != nil {
			b.Fatal(err)
		}
	}
}

func helloBinaryB(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = osMkdirTemp()
		if buildErr != nil {
			return
		}
		helloPath, buildErr = plugintest.BuildErr("../../../examples/plugins/hello", binDir)
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return helloPath
}
