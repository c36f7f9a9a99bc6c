package pluginhost

import (
	"context"
	"encoding/hex"
	"sync"
	"time"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc"
)

// RPCLauncher starts plugin executables with Atrium's gRPC transport
// (go-plugin, mutual TLS), passing the installed sha256 so that a binary
// changed on disk is refused before it runs.
type RPCLauncher struct{}

// Launch implements Launcher.
func (RPCLauncher) Launch(ctx context.Context, spec LaunchSpec) (Process, error) {
	var sum []byte
	if spec.SHA256 != "" {
		b, err := hex.DecodeString(spec.SHA256)
		if err != nil {
			return nil, err
		}
		sum = b
	}
	c, err := rpc.Start(ctx, rpc.StartOptions{
		Path: spec.Path, Logger: spec.Logger, StartTimeout: spec.StartTimeout,
		SecureChecksum: sum, CallTimeout: spec.CallTimeout,
	})
	if err != nil {
		return nil, err
	}
	p := &rpcProcess{Client: c, exited: make(chan struct{})}
	go p.watch()
	return p, nil
}

// rpcProcess turns the client's Exited poll into a channel.
type rpcProcess struct {
	*rpc.Client
	exited chan struct{}
	once   sync.Once
}

// exitPoll is how often the process is checked for having exited.
const exitPoll = 50 * time.Millisecond

func (p *rpcProcess) watch() {
	t := time.NewTicker(exitPoll)
	defer t.Stop()
	for range t.C {
		if p.Client.Exited() {
			p.once.Do(func() { close(p.exited) })
			return
		}
	}
}

func (p *rpcProcess) Exited() <-chan struct{} { return p.exited }
