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
)

// Panic is the error Call returns for a panic. Its message names the
// plugin and the call and is safe to show; the panic's value may hold
// anything the plugin had at hand (a token, an entity), so it and the
// stack go to the log only. plugin.KindOf counts it as ErrInternal.
type Panic struct {
	Plugin string // "" for Atrium's own code
	Call   string
	Value  any
	Stack  []byte
}

func (p *Panic) Error() string {
	who := "plugin " + p.Plugin
	if p.Plugin == "" {
		who = "Atrium's built-in code"
	}
	return fmt.Sprintf("%s panicked in %s (a bug; the panic and its stack are in Atrium's log)", who, p.Call)
}

// Call runs fn, the code of plugin pluginID doing call ("processor tags:
// Process", "action acme:deploy: Run"). A panic in fn is recovered: it is
// logged on log (when not nil) with its value and stack, and returned as
// a *Panic. Otherwise fn's error is returned as is.
func Call(log *slog.Logger, pluginID, call string, fn func() error) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		p := &Panic{Plugin: pluginID, Call: call, Value: v, Stack: debug.Stack()}
		err = p
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
