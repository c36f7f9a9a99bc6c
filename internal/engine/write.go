package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/atrium-portal/atrium/internal/catalog"
	"github.com/atrium-portal/atrium/internal/fault"
	"github.com/atrium-portal/atrium/internal/store"
)

type storeState = store.EntityState

// statesChunk bounds the refs of one EntityStates call.
const statesChunk = 1000

// states reads the states of refs in chunks.
func (e *Engine) states(ctx context.Context, refs []string) (map[string]storeState, error) {
	out := make(map[string]storeState, len(refs))
	for start := 0; start < len(refs); start += statesChunk {
		m, err := e.store.EntityStates(ctx, refs[start:min(start+statesChunk, len(refs))])
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// flush decides, for each result, whether it is a conflict, unchanged, an
// error kept on the last good body, or a write, and writes.
func (p *pass) flush(ctx context.Context, batch []*docResult) error {
	if len(batch) == 0 {
		return nil
	}
	if p.spec.kind == passDry {
		for _, r := range batch {
			if r.entity == nil {
				p.refuse(r)
				continue
			}
			if r.loc != nil {
				for _, it := range r.loc.problems {
					p.problems = append(p.problems, Problem{Message: it.Message})
				}
			}
			ent := *r.entity
			ent.Metadata.UID = ""
			p.entities = append(p.entities, &ent)
		}
		return nil
	}
	refs := make([]string, 0, len(batch))
	for _, r := range batch {
		if r.ref != "" {
			refs = append(refs, r.ref)
		}
	}
	states, err := p.e.states(ctx, refs)
	if err != nil {
		return err
	}
	recs := make([]catalog.Record, 0, len(batch))
	owners := make(map[string]*docResult, len(batch))
	for _, r := range batch {
		if r.ref == "" {
			p.refuse(r)
			continue
		}
		st, exists := states[r.ref]
		if r.cached {
			if r.u.retry {
				continue
			}
			if exists && st.LocationKey == r.u.locKey && hashIs(st.Hash, r.sum) {
				p.addEdge(r.u.parent, r.ref)
				continue
			}
			p.retryUnit(r.u)
			continue
		}
		if exists && st.LocationKey != "" && st.LocationKey != r.u.locKey {
			p.conflict(r, st.LocationKey)
			continue
		}
		errs := r.problems
		if r.loc != nil && len(r.loc.problems) > 0 {
			errs = append(append([]catalog.StatusItem(nil), errs...), r.loc.problems...)
		}
		hash := hashWithErrors(r.hash, errs)
		if r.entity == nil && !exists {
			p.refuse(r)
			continue
		}
		if !exists {
			if ok, err := p.admit(ctx, r); err != nil {
				return err
			} else if !ok {
				continue
			}
		}
		p.addEdge(r.u.parent, r.ref)
		if r.entity == nil || len(errs) > 0 {
			p.spoil(r.u)
		} else {
			p.tracked(r, hash)
		}
		if exists && st.Hash == hash {
			continue
		}
		var rec *catalog.Record
		if r.entity == nil {
			rec, err = p.e.lastGood(ctx, r.ref, st)
			if fault.Is(err, fault.NotFound) {
				p.refuse(r)
				continue
			}
			if err != nil {
				return err
			}
		} else {
			rec = r.rec
			if exists && st.UID != rec.UID {
				if rec, err = p.e.record(r.entity, rec.Relations, r.u.locKey, st.UID); err != nil {
					return err
				}
			}
		}
		rec.Hash = hash
		rec.Errors = errs
		rec.LocationKey = r.u.locKey
		recs = append(recs, *rec)
		owners[r.ref] = r
		r.rec = nil // the batch is written; let the record go
	}
	return p.write(ctx, recs, owners)
}

// pendingWrite is an upsert running in the background while the next
// batch is processed; only the store is touched off the collector.
type pendingWrite struct {
	done    chan struct{}
	results []store.EntityUpsertResult
	err     error
	owners  map[string]*docResult
}

// write starts upserting records in batches, after the previous write has
// finished and been accounted for.
func (p *pass) write(ctx context.Context, recs []catalog.Record, owners map[string]*docResult) error {
	if err := p.wait(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	pw := &pendingWrite{done: make(chan struct{}), owners: owners}
	p.inflight = pw
	go func() {
		defer close(pw.done)
		for start := 0; start < len(recs); start += batchSize {
			res, err := p.e.store.EntityUpsert(ctx, store.EntityUpsertParams{Records: recs[start:min(start+batchSize, len(recs))]})
			if err != nil {
				pw.err = err
				return
			}
			pw.results = append(pw.results, res)
		}
	}()
	return nil
}

// wait waits for the write in flight and reports refused records as
// conflicts.
func (p *pass) wait() error {
	pw := p.inflight
	if pw == nil {
		return nil
	}
	<-pw.done
	p.inflight = nil
	for _, res := range pw.results {
		for _, c := range res.Conflicts {
			p.rejected[c.Ref] = true
			if r := pw.owners[c.Ref]; r != nil {
				p.conflict(r, c.ExistingLocationKey)
			}
		}
		p.e.subs.publish(ChangeUpsert, res.Written)
	}
	return pw.err
}

// lastGood rebuilds the record of a stored entity from its body, to keep
// it served while its new input has errors.
func (e *Engine) lastGood(ctx context.Context, ref string, st storeState) (*catalog.Record, error) {
	s, err := e.store.EntityGetByRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	var ent catalog.Entity
	if err := json.Unmarshal(s.Body, &ent); err != nil {
		return nil, fmt.Errorf("stored entity %s: %w", ref, err)
	}
	rows, _ := catalog.Relations(&ent)
	rec, err := e.record(&ent, rows, st.LocationKey, st.UID)
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// record builds the record of a valid entity with the given UID. Its Hash
// covers the entity without UID and the location key, so an unchanged
// input yields the same hash.
func (e *Engine) record(ent *catalog.Entity, rows []catalog.RelationRow, locKey, uid string) (*catalog.Record, error) {
	ent.Relations = nil
	ent.Status = nil
	ent.Metadata.Etag = ""
	ent.Metadata.UID = uid
	body, err := json.Marshal(ent)
	if err != nil {
		return nil, fmt.Errorf("entity %s: %w", ent.Ref(), err)
	}
	ns := ent.Metadata.Namespace
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	return &catalog.Record{
		UID:         uid,
		Ref:         ent.Ref().String(),
		Kind:        ent.Kind,
		Namespace:   ns,
		Name:        ent.Metadata.Name,
		Body:        body,
		Hash:        bodyHash(body, uid, locKey),
		LocationKey: locKey,
		Relations:   rows,
		Search:      catalog.SearchRows(ent),
		Text:        catalog.FullTextDocument(ent),
	}, nil
}

// bodyHash hashes a body without its uid, and a key: the same input gives
// the same hash whatever uid the entity has.
func bodyHash(body []byte, uid, key string) string {
	h := sha256.New()
	field := `"uid":` + strconv.Quote(uid)
	if i := bytes.Index(body, []byte(field)); i >= 0 {
		h.Write(body[:i])
		h.Write(body[i+len(field):])
	} else {
		h.Write(body)
	}
	h.Write([]byte{0})
	h.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// hashBytes hashes data and a key.
func hashBytes(data []byte, key string) string {
	h := sha256.New()
	h.Write(data)
	h.Write([]byte{0})
	h.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// hashWithErrors folds status items into a hash, so that a change of
// errors alone is a change.
func hashWithErrors(hash string, errs []catalog.StatusItem) string {
	if len(errs) == 0 {
		return hash
	}
	b, _ := json.Marshal(errs)
	return hashBytes(b, hash)
}

// statusItem is a processing error status item.
func statusItem(name, msg string) catalog.StatusItem {
	return catalog.StatusItem{
		Type:    catalog.StatusTypeProcessing,
		Level:   "error",
		Message: name + ": " + msg,
		Error:   &catalog.StatusError{Name: name, Message: msg},
	}
}

// problemItems turns problems into status items named name.
func problemItems(name string, ps catalog.Problems) []catalog.StatusItem {
	out := make([]catalog.StatusItem, len(ps))
	for i, p := range ps {
		out[i] = statusItem(name, p.String())
	}
	return out
}

// errorItem turns an error into a status item.
func errorItem(err error) catalog.StatusItem {
	if ps, ok := err.(catalog.Problems); ok {
		return statusItem(string(fault.Invalid), ps.Error())
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return statusItem(string(fe.Kind), fe.Message)
	}
	return statusItem("Error", err.Error())
}
