package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/pluginhost/guard"
	"github.com/atrium-portal/atrium/plugin"
)

// AddProcessor adds a plugin's processor, before or while Run runs:
// entities processed from then on go through it.
func (e *Engine) AddProcessor(p plugin.Processor) error {
	e.provMu.Lock()
	defer e.provMu.Unlock()
	cur := *e.processors.Load()
	for _, q := range cur {
		if q.Name() == p.Name() {
			return fmt.Errorf("engine: a processor named %q is already registered", p.Name())
		}
	}
	next := append(slices.Clip(cur), p)
	e.processors.Store(&next)
	return nil
}

// RemoveProcessor removes the processor name; an entity being processed
// may still go through it.
func (e *Engine) RemoveProcessor(name string) error {
	e.provMu.Lock()
	defer e.provMu.Unlock()
	cur := *e.processors.Load()
	i := slices.IndexFunc(cur, func(q plugin.Processor) bool { return q.Name() == name })
	if i < 0 {
		return fmt.Errorf("engine: no processor named %q is registered", name)
	}
	next := slices.Delete(slices.Clone(cur), i, i+1)
	e.processors.Store(&next)
	return nil
}

// hasProcessors reports whether any plugin processor is registered.
func (e *Engine) hasProcessors() bool { return len(*e.processors.Load()) > 0 }

// runProcessors runs the plugins' processors on a valid entity in order.
// A processor may replace the entity (which is validated again), add
// relations and report problems: an "error" problem refuses the entity
// with the problem in its status, a warning is logged. A processor that
// fails (a crashed plugin, a timeout) is logged and skipped: a plugin
// being down never keeps entities out of the catalog. A processor that
// panics (a built-in's bug) fails the entity instead, with an error in
// its status.items naming the plugin; Atrium goes on.
func (e *Engine) runProcessors(ctx context.Context, r *docResult, doc catalog.Document, ent *catalog.Entity) (*catalog.Entity, []catalog.RelationRow) {
	var extra []catalog.RelationRow
	self := ent.Ref()
	for _, p := range *e.processors.Load() {
		body, err := json.Marshal(ent)
		if err != nil {
			r.fail(string(fault.Internal), catalog.Problem{File: doc.File, Line: doc.Line, Message: fmt.Sprintf("encoding %s for processor %s: %v", r.ref, p.Name(), err)})
			return nil, nil
		}
		var res plugin.ProcessResult
		err = guard.Call(e.log, processorPlugin(p), "processor "+p.Name()+": Process", func() (err error) {
			res, err = p.Process(ctx, body)
			return err
		})
		if guard.IsPanic(err) {
			// A bug in the plugin, not a plugin being down: the entity
			// keeps its last good version, and says why in its status.
			r.fail(string(fault.Internal), catalog.Problem{File: doc.File, Line: doc.Line, Message: err.Error()})
			return nil, nil
		}
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("catalog processor failed; the entity is kept as it was", "processor", p.Name(), "entity", r.ref, "err", err)
			}
			continue
		}
		var refused bool
		for _, pr := range res.Problems {
			msg := fmt.Sprintf("processor %s: %s", p.Name(), pr.Message)
			if !strings.EqualFold(pr.Level, "error") {
				e.log.Warn("catalog processor warning", "processor", p.Name(), "entity", r.ref, "field", pr.Field, "message", pr.Message)
				continue
			}
			refused = true
			r.fail(string(fault.Invalid), catalog.Problem{File: doc.File, Line: doc.Line, Field: pr.Field, Message: msg})
		}
		if refused {
			return nil, nil
		}
		if len(res.Entity) > 0 {
			d, err := catalog.DocumentFromJSON(doc.File, res.Entity)
			if err != nil {
				r.fail(string(fault.Invalid), catalog.Problem{File: doc.File, Line: doc.Line, Message: fmt.Sprintf("processor %s returned an entity that is not valid JSON: %v", p.Name(), err)})
				return nil, nil
			}
			next, ps := catalog.ValidateDocument(d)
			if len(ps) > 0 {
				for i := range ps {
					ps[i].Message = fmt.Sprintf("processor %s: %s", p.Name(), ps[i].Message)
				}
				r.fail(string(fault.Invalid), ps...)
				return nil, nil
			}
			if next.Ref() != self {
				r.fail(string(fault.Invalid), catalog.Problem{File: doc.File, Line: doc.Line, Message: fmt.Sprintf(
					"processor %s changed the entity's reference from %s to %s", p.Name(), self, next.Ref())})
				return nil, nil
			}
			ent = next
		}
		for _, rel := range res.Relations {
			target, err := catalog.ParseRef(rel.TargetRef, catalog.RefDefaults{Namespace: self.Namespace})
			if err != nil || rel.Type == "" {
				r.fail(string(fault.Invalid), catalog.Problem{File: doc.File, Line: doc.Line, Field: "relations", Message: fmt.Sprintf(
					"processor %s: relation %q to %q: a type and a full entity reference are required", p.Name(), rel.Type, rel.TargetRef)})
				return nil, nil
			}
			extra = append(extra, catalog.RelationRow{Source: self.String(), Type: rel.Type, Target: target.String()})
		}
	}
	return ent, extra
}

// processorPlugin is the id of the plugin of processor p: the app names a
// plugin's processor "<plugin id>:<name>".
func processorPlugin(p plugin.Processor) string {
	id, _, _ := strings.Cut(p.Name(), ":")
	return id
}
