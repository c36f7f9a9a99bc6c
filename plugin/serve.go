package plugin

import (
	"context"
	"log/slog"
	"os"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
)

// Serve runs p as an out-of-process plugin: it answers Atrium's gRPC calls
// until Atrium stops the process. A plugin's main function is one line:
//
//	func main() { plugin.Serve(hello.New()) }
//
// Serve speaks protocol version wire.ProtocolVersion, negotiated with the
// host by go-plugin; the connection is mutually authenticated TLS with
// certificates the host generates for each start. Run by hand (not by
// Atrium), the binary prints a short explanation and exits with status 1.
func Serve(p Plugin) {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			wire.ProtocolVersion: {wire.PluginName: &servePlugin{impl: p}},
		},
		GRPCServer: goplugin.DefaultGRPCServer,
	})
}

// RegisterGRPC registers p's gRPC service on s. Serve uses it; so does
// plugintest to run a plugin over a real gRPC connection in one process.
func RegisterGRPC(s *grpc.Server, p Plugin) {
	s.RegisterService(serviceDesc(), newGRPCServer(p))
}

// servePlugin is go-plugin's glue on the plugin side; the host side has
// its own (internal/pluginhost/rpc).
type servePlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl Plugin
}

func (sp *servePlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	RegisterGRPC(s, sp.impl)
	return nil
}

func (sp *servePlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, Errorf(ErrInternal, "the plugin side of the protocol has no client")
}

// stderrLogger returns the logger an out-of-process plugin gets in Host:
// JSON lines on stderr in the shape go-plugin forwards to Atrium's log
// with the right level.
func stderrLogger() *slog.Logger {
	h := slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.MessageKey:
				a.Key = "@message"
			case slog.LevelKey:
				a.Key = "@level"
				a.Value = slog.StringValue(hclogLevel(a.Value.Any()))
			case slog.TimeKey:
				a.Key = "@timestamp"
				if t, ok := a.Value.Any().(interface{ Format(string) string }); ok {
					a.Value = slog.StringValue(t.Format("2006-01-02T15:04:05.000000Z07:00"))
				}
			}
			return a
		},
	})
	return slog.New(h)
}

func hclogLevel(v any) string {
	l, ok := v.(slog.Level)
	if !ok {
		return "info"
	}
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}
