// Package rpc is the host side of Atrium's plugin protocol: it starts a
// plugin executable with go-plugin (handshake, protocol negotiation,
// AutoMTLS, checksum), and returns a *Client that implements
// plugin.Plugin. Every component the client returns (actions, providers,
// processors, cards, subscribers, services) is a gRPC client implementing
// the same interface as a built-in, so the rest of Atrium cannot tell
// them apart. The plugin side is plugin.Serve; the messages are in wire.
//
// Errors are *fault.Error values wrapping a *plugin.Error: callers see the
// kind they expect on either side. A call into a plugin whose process has
// exited fails at once with fault.Unavailable; a unary call that gets no
// answer within the call timeout fails with fault.Unavailable too.
package rpc

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/rpc/wire"
	"github.com/atrium-portal/atrium/plugin"
)

// Defaults for StartOptions.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultCallTimeout  = 30 * time.Second
	// DefaultMaxMessageBytes bounds one message from a plugin (a
	// provider's mutation, a card, an action report): 64 MiB.
	DefaultMaxMessageBytes = 64 << 20
)

// StartOptions say how to start a plugin executable.
type StartOptions struct {
	// Path is the plugin executable.
	Path string
	// Args are its arguments.
	Args []string
	// Env is added to a minimal environment (PATH, HOME, TMPDIR, LANG):
	// Atrium's own environment, which may hold secrets, is not passed on.
	Env []string
	// Logger receives the plugin's log lines (its stderr) and go-plugin's
	// messages; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the start and the handshake (default 10s).
	StartTimeout time.Duration
	// SecureChecksum, when set, is the SHA-256 of the executable; a
	// binary with another checksum is refused before it runs.
	SecureChecksum []byte
	// CallTimeout bounds each unary call (Info, Process, Render, Verify,
	// Handle, …; default 30s). Streams (action and provider runs) and
	// services are bounded by their context instead.
	CallTimeout time.Duration
	// MaxMessageBytes bounds one message from the plugin (default
	// DefaultMaxMessageBytes); a provider with more to send splits it into
	// several delta mutations.
	MaxMessageBytes int
}

// Client is a started plugin. It implements plugin.Plugin.
type Client struct {
	conn        grpc.ClientConnInterface
	gp          *goplugin.Client // nil for a connection made by NewConnClient
	callTimeout time.Duration
	info        plugin.Info

	mu    sync.Mutex
	comps *plugin.Components
}

var _ plugin.Plugin = (*Client)(nil)

// Start starts the plugin executable, negotiates the protocol and returns
// a client. The process runs until Kill.
func Start(ctx context.Context, opts StartOptions) (*Client, error) {
	if opts.Path == "" {
		return nil, fault.New(fault.Invalid, "plugin executable: no path given")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	name := filepath.Base(opts.Path)
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cmd := exec.Command(opts.Path, opts.Args...)
	cmd.Env = append(baseEnv(), opts.Env...)
	cfg := &goplugin.ClientConfig{
		HandshakeConfig: wire.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			wire.ProtocolVersion: {wire.PluginName: hostPlugin{}},
		},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     opts.StartTimeout,
		SkipHostEnv:      true,
		Logger:           newHCLogger(logger.With("plugin", name)),
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	cfg.GRPCDialOptions = []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(opts.MaxMessageBytes))}
	if len(opts.SecureChecksum) > 0 {
		cfg.SecureConfig = &goplugin.SecureConfig{Checksum: opts.SecureChecksum, Hash: sha256.New()}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	gp := goplugin.NewClient(cfg)
	proto, err := gp.Client()
	if err != nil {
		gp.Kill()
		return nil, startError(opts.Path, err)
	}
	raw, err := proto.Dispense(wire.PluginName)
	if err != nil {
		gp.Kill()
		return nil, fault.Wrap(fault.Invalid, err, "plugin %s: it does not offer Atrium's plugin service", opts.Path)
	}
	conn, ok := raw.(*grpc.ClientConn)
	if !ok {
		gp.Kill()
		return nil, fault.New(fault.Internal, "plugin %s: unexpected client %T", opts.Path, raw)
	}
	c, err := newClient(ctx, conn, gp, opts.CallTimeout)
	if err != nil {
		gp.Kill()
		return nil, err
	}
	return c, nil
}

// NewConnClient returns a client for a plugin served on conn (no process:
// Kill, Exited and Pid then do nothing). plugintest uses it.
func NewConnClient(ctx context.Context, conn grpc.ClientConnInterface, callTimeout time.Duration) (*Client, error) {
	return newClient(ctx, conn, nil, callTimeout)
}

func newClient(ctx context.Context, conn grpc.ClientConnInterface, gp *goplugin.Client, callTimeout time.Duration) (*Client, error) {
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	c := &Client{conn: conn, gp: gp, callTimeout: callTimeout}
	var info plugin.Info
	if err := c.unary(ctx, wire.MethodInfo, "describing itself", wire.Empty{}, &info); err != nil {
		return nil, err
	}
	if info.ID == "" {
		return nil, fault.New(fault.Invalid, "plugin: its Info has no id")
	}
	c.info = info
	return c, nil
}

func startError(path string, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, goplugin.ErrChecksumsDoNotMatch) || strings.Contains(msg, goplugin.ErrChecksumsDoNotMatch.Error()):
		return fault.Wrap(fault.Invalid, err, "plugin %s: the executable's SHA-256 checksum does not match the expected one; refusing to run it", path)
	case strings.Contains(msg, "incompatible API version"):
		return fault.Wrap(fault.Invalid, err, "plugin %s speaks another plugin protocol version than this Atrium (protocol %d): %s; install a version of the plugin built for protocol %d", path, wire.ProtocolVersion, msg, wire.ProtocolVersion)
	case strings.Contains(msg, "timeout"):
		return fault.Wrap(fault.Unavailable, err, "plugin %s did not complete the handshake in time", path)
	}
	return fault.Wrap(fault.Unavailable, err, "plugin %s could not be started: %s", path, msg)
}

// baseEnv is the environment a plugin gets besides StartOptions.Env.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// hostPlugin is go-plugin's glue on the host side: it hands back the
// connection; Client does the rest.
type hostPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (hostPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host side of the plugin protocol serves nothing")
}

func (hostPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return conn, nil
}

// Kill stops the plugin process (gracefully first, then by force).
func (c *Client) Kill() {
	if c.gp != nil {
		c.gp.Kill()
	}
}

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool {
	return c.gp != nil && c.gp.Exited()
}

// Pid returns the plugin's process id, 0 when there is no process.
func (c *Client) Pid() int {
	if c.gp == nil {
		return 0
	}
	rc := c.gp.ReattachConfig()
	if rc == nil {
		return 0
	}
	return rc.Pid
}

// RSS returns the plugin process's resident memory in bytes (VmRSS in
// /proc/<pid>/status; Linux only).
func (c *Client) RSS() (int64, error) {
	pid := c.Pid()
	if pid == 0 || c.Exited() {
		return 0, fault.New(fault.Unavailable, "plugin %s has no running process", c.info.ID)
	}
	return ProcessRSS(pid)
}

// ProcessRSS returns the resident memory of a process in bytes.
func ProcessRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("reading the memory use of process %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("process %d: unexpected VmRSS line %q", pid, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: VmRSS %q: %w", pid, fields[0], err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading the memory use of process %d: %w", pid, err)
	}
	return 0, fmt.Errorf("process %d: no VmRSS (a zombie or a kernel thread)", pid)
}
