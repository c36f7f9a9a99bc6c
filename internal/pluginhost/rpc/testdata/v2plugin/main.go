// Command v2plugin is a plugin that only speaks a future protocol
// version (2), to test that Atrium refuses it with a clear message.
package main

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
)

var _ goplugin.GRPCPlugin = future{}

type future struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (future) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return nil }

func (future) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{2: {wire.PluginName: future{}}},
		GRPCServer:       goplugin.DefaultGRPCServer,
	})
}
