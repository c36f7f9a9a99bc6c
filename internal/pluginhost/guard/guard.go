// Package guard calls in-process plugin code so that a panic in it fails
// the one call instead of ending Atrium.
//
// A built-in plugin runs in Atrium's process. Where its code runs inside
// an HTTP request, the server's recovery middleware catches a panic; but
// processors, entity providers, services, scaffolder actions and entity
// cards run on goroutines of their own (or a worker's), where a panic
// would end the whole process. Every such call goes through Call.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/atrium-portal/atrium/plugin"
)

// Panic is the cause of the error Call returns for a panic: the panic's
// value and the goroutine's stack. Its text may hold anything the plugin
// had at hand (a token, an entity): it goes to the log, never to users.
type Panic struct {
	Value any
	Stack []byte
}

func (p *Panic) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Call runs fn, the code of plugin pluginID doing call ("processor tags:
// Process", "action acme:deploy"). A panic in fn is recovered: it is
// logged on log (when not nil) with its value and stack, and returned as
// a *plugin.Error of kind ErrInternal whose message names the plugin and
// the call (safe to show: the panic's value stays in the log), with the
// *Panic as its cause. Otherwise fn's error is returned as is.
func Call(log *slog.Logger, pluginID, call string, fn func() error) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		p := &Panic{Value: v, Stack: debug.Stack()}
		who := "plugin " + pluginID
		if pluginID == "" {
			who = "Atrium's built-in code"
		}
		err = &plugin.Error{Kind: plugin.ErrInternal, Message: fmt.Sprintf("%s panicked in %s (a bug in the plugin; the panic and its stack are in Atrium's log)", who, call), Err: p}
		if log != nil {
			log.LogAttrs(context.Background(), slog.LevelError, "plugin code panicked; the call failed and Atrium goes on",
				slog.String("plugin", pluginID), slog.String("call", call),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(p.Stack)))
		}
	}()
	return fn()
}

// IsPanic reports whether err is, or wraps, a recovered panic.
func IsPanic(err error) bool {
	var p *Panic
	return errors.As(err, &p)
}
